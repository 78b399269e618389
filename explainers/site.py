"""The site's name, description and publisher: read from settings here, and nowhere else.

Pages get them as ``site`` (the context processor below), feeds and JSON-LD from
``site_details()``. Read on each call, so that a settings override in a test is seen.
"""

from dataclasses import dataclass

from django.conf import settings
from django.templatetags.static import static


@dataclass(frozen=True, slots=True)
class SharingImage:
    """What link previews show of a page (og:image): an image's address on this site, the
    size its file has and its alt text."""

    url: str
    width: int
    height: int
    alt_text: str


@dataclass(frozen=True, slots=True)
class SiteDetails:
    name: str
    description: str
    publisher_name: str
    publisher_url: str
    publisher_logo: str  # a path among the static files

    @property
    def default_sharing_image(self) -> SharingImage:
        """What link previews show of a page with no hero of its own to show (1200 × 630)."""
        return SharingImage(static("site/social-default.png"), 1200, 630, self.name)


def site_details() -> SiteDetails:
    return SiteDetails(
        name=settings.SITE_NAME,
        description=settings.SITE_DESCRIPTION,
        publisher_name=settings.SITE_PUBLISHER_NAME,
        publisher_url=settings.SITE_PUBLISHER_URL,
        publisher_logo=settings.SITE_PUBLISHER_LOGO,
    )


def site_context(request) -> dict:
    """Context processor: ``site`` in every template rendered with a request."""
    return {"site": site_details()}
