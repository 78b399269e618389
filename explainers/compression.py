"""Compressed answers: brotli or gzip, whichever the client takes, for text worth compressing.

The page cache stores each page compressed once per encoding (see cache.py);
everything else (uncached pages, feeds, search) is compressed on its way out by
CompressionMiddleware. The admin is left alone: its pages carry CSRF tokens and what an editor
typed, the material of a BREACH attack, and editors are few.
"""

import gzip
import re

import brotli
from django.conf import settings
from django.utils.cache import patch_vary_headers

from .middleware import is_under

# Preference order when a client takes several.
ENCODINGS = ("br", "gzip")
IDENTITY = "identity"
COMPRESSIBLE_TYPES = ("text/", "application/xml", "application/rss+xml", "application/atom+xml",
                      "application/json", "application/ld+json", "image/svg+xml")  # fmt: skip
# Shorter bodies gain less than the header costs.
MIN_LENGTH = 200
# brotli 5 and gzip 6 compress a 53 KB category page in about a millisecond each, within
# a few percent of their slowest settings.
BROTLI_QUALITY = 5
GZIP_LEVEL = 6
ACCEPT_TOKEN = re.compile(r"\s*([A-Za-z0-9*-]+)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*")


def accepted_encoding(request) -> str:
    """The encoding to answer ``request`` in: "br", "gzip" or "identity"."""
    header = request.META.get("HTTP_ACCEPT_ENCODING", "")
    if not header:
        return IDENTITY
    accepted = set()
    for part in header.split(","):
        match = ACCEPT_TOKEN.fullmatch(part)
        if match is None:
            continue
        name, quality = match[1].lower(), match[2]
        try:
            if quality is not None and float(quality) <= 0:
                continue
        except ValueError:
            continue
        accepted.add(name)
    for encoding in ENCODINGS:
        if encoding in accepted or "*" in accepted:
            return encoding
    return IDENTITY


def compress(content: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return brotli.compress(content, quality=BROTLI_QUALITY)
    if encoding == "gzip":
        return gzip.compress(content, compresslevel=GZIP_LEVEL, mtime=0)
    return content


def is_compressible(response) -> bool:
    return (
        not response.streaming
        and not response.has_header("Content-Encoding")
        and len(response.content) >= MIN_LENGTH
        and response.get("Content-Type", "").startswith(COMPRESSIBLE_TYPES)
    )


def weak_etag(etag: str) -> str:
    """A compressed body is not the same bytes: its ETag says it is the same page (RFC 9110)."""
    return etag if etag.startswith("W/") else f"W/{etag}"


def encode_response(response, encoding: str, body: bytes | None = None) -> None:
    """Give ``response`` the body for ``encoding`` (``body`` if already compressed)."""
    patch_vary_headers(response, ["Accept-Encoding"])
    if encoding == IDENTITY:
        return
    response.content = body if body is not None else compress(response.content, encoding)
    response["Content-Encoding"] = encoding
    response["Content-Length"] = str(len(response.content))
    if response.has_header("ETag"):
        response["ETag"] = weak_etag(response["ETag"])


def without_body_for_head(request, response):
    """HEAD answers carry the GET answer's headers and no body (gunicorn warns otherwise)."""
    if request.method == "HEAD" and not response.streaming and response.content:
        response["Content-Length"] = str(len(response.content))
        response.content = b""
    return response


class CompressionMiddleware:
    """brotli or gzip for text answers outside the admin, chosen from Accept-Encoding.

    Pages the page cache may store (``response.cacheable`` set) are left to it: it keeps
    every encoding of them and answers in the one asked for.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "cacheable", None) is not None:
            return response
        if not is_under(request, settings.ADMIN_URL) and is_compressible(response):
            encode_response(response, accepted_encoding(request))
        return without_body_for_head(request, response)
