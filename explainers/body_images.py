"""Images in explainer bodies: which are the library's, and which readers will never see.

Editors insert images from the site's image library (``HeroImage``: uploads checked, alt text
required) as Markdown pointing at one of their renditions, ``![alt](/images/<original>/800.jpg)``
(``image_markdown``). What a body shows is read back from its rendered HTML, the sanitized
markup readers' browsers really get, when it is saved:

- library images are kept on ``Explainer.body_images``, so that readers may fetch their
  renditions once the explainer is published (``HeroImageQuerySet.shown_to_readers``);
- images from other sites are named to the writer (``BodyImages.outside``): the site's
  Content-Security-Policy (``img-src``) forbids readers' browsers to load them, and nothing
  would otherwise tell.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.urls import Resolver404, resolve

from .images import is_declared_rendition

# The rendition a body shows. A Markdown image has no srcset: 800 px covers the prose column
# (42rem, 672 px), and every browser reads JPEG.
BODY_IMAGE_WIDTH = 800
BODY_IMAGE_FORMAT = "jpg"
RENDITION_VIEW = "explainers:rendition"
# Characters that would turn alt text into Markdown (emphasis, a link, raw HTML, an entity).
MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]<>&~])")
# Characters a Markdown link destination cannot hold bare.
UNSAFE_IN_DESTINATION = re.compile(r"[\s()<>]")


def image_markdown(image) -> str:
    """How a library image (a HeroImage) is written into a body: ``![alt text](rendition)``."""
    alt = MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(image.alt_text.split()))
    url = image.rendition(BODY_IMAGE_WIDTH, BODY_IMAGE_FORMAT).url
    if UNSAFE_IN_DESTINATION.search(url):
        url = f"<{url}>"
    return f"![{alt}]({url})"


def picker_entry(image) -> dict:
    """A library image as the body's image picker lists it (JSON): a thumbnail, the alt
    text, and the Markdown that inserts it."""
    # The original stands in until the background task has made the renditions.
    thumbnail = image.shown_image(400)
    return {
        "id": image.pk,
        "alt_text": image.alt_text,
        "thumbnail": {"url": thumbnail.url, "width": thumbnail.width, "height": thumbnail.height},
        "markdown": image_markdown(image),
    }


class _ImageSources(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            source = (dict(attrs).get("src") or "").strip()
            if source:
                self.sources.append(source)

    handle_startendtag = handle_starttag


def image_sources(html: str) -> list[str]:
    """The ``src`` of every image in ``html``, in order, each once."""
    parser = _ImageSources()
    parser.feed(html)
    parser.close()
    return list(dict.fromkeys(parser.sources))


@dataclass
class BodyImages:
    """A rendered body's images, sorted by what readers will get of them."""

    # Renditions of this site, by URL: the original (``HeroImage.image``) each shows. Whether
    # that original is in the library takes a query (``HeroImageQuerySet.shown_in``).
    renditions: dict[str, str] = field(default_factory=dict)
    # Images on other sites that the Content-Security-Policy forbids browsers to load.
    outside: list[str] = field(default_factory=list)
    # This site's, but not a rendition (an original under /media/, a mistyped size).
    elsewhere_on_site: list[str] = field(default_factory=list)


def body_images(html: str) -> BodyImages:
    """Sort the images of a rendered body (``Explainer.body_html``); no query."""
    found = BodyImages()
    site = urlsplit(settings.SITE_URL)
    for source in image_sources(html):
        parts = urlsplit(source)
        if parts.scheme or parts.netloc:
            same_site = (parts.scheme or site.scheme, parts.netloc) == (site.scheme, site.netloc)
            if not same_site:
                if not _allowed_by_img_src(parts.scheme or site.scheme, parts.netloc):
                    found.outside.append(source)
                # An origin the policy allows (the media storage's own domain) is the
                # operators' choice: readers' browsers load it.
                continue
        original = _rendition_original(parts.path)
        if original is not None:
            found.renditions[source] = original
        elif not parts.path.startswith(f"/{settings.STATIC_URL.strip('/')}/"):
            found.elsewhere_on_site.append(source)
    return found


def _rendition_original(path: str) -> str | None:
    """The original a rendition URL's path names, or None for any other path."""
    try:
        match = resolve(unquote(path))
    except Resolver404:
        return None
    kwargs = match.kwargs
    if match.view_name != RENDITION_VIEW or not is_declared_rendition(
        kwargs["size"], kwargs["extension"]
    ):
        return None
    return kwargs["original"]


def _allowed_by_img_src(scheme: str, netloc: str) -> bool:
    """Whether the Content-Security-Policy's img-src lets browsers load from this origin."""
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    sources = directives.get("img-src", directives.get("default-src", []))
    for source in sources:
        if source == "*":
            return scheme in ("http", "https")
        if source.endswith(":"):  # a scheme ("data:", "https:")
            if scheme == source[:-1]:
                return True
            continue
        if source.startswith("'"):  # 'self' is this site, handled by the caller; 'none'
            continue
        allowed = urlsplit(source if "://" in source else f"{scheme}://{source}")
        host = allowed.netloc
        if allowed.scheme == scheme and (
            netloc == host or (host.startswith("*.") and netloc.endswith(host[1:]))
        ):
            return True
    return False
