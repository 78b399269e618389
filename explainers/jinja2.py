"""The Jinja2 environment readers' pages render in (templates in jinja2/).

What templates may call beyond Jinja2's own: ``static()`` and ``url()`` (Django's
``static`` and ``reverse``), ``page_url()`` for pagination links, ``stored_card()`` and
``FIRST_ROW`` for listings, and the filters Django's templates had (``date``,
``pluralize``) plus ``srcset``, ``json_ld`` and ``duration``.
"""

import json
from datetime import timedelta

from django.templatetags.static import static
from django.urls import reverse
from django.utils import dateformat, timezone
from jinja2 import Environment
from markupsafe import Markup

from .services.cards import FIRST_ROW, cards_version


def url(name: str, **kwargs) -> str:
    return reverse(name, kwargs=kwargs)


def page_url(request, number: int) -> str:
    """This page's URL at page ``number``, keeping the other parameters (such as ``q``).

    Page 1 has no ``page`` parameter, so each page has one address.
    """
    query = request.GET.copy()
    query.pop("page", None)
    if number != 1:
        query["page"] = number
    return f"{request.path}?{query.urlencode()}" if query else request.path


def stored_card(explainer, first_row: bool) -> Markup | None:
    """An explainer's card as stored (services.cards) for a list's first row or below it;
    None when it is to be rendered: stored from other templates, out of date, or not read
    (``for_cards()`` rows, which carry what the card template needs instead)."""
    # From the instance's own attributes: a deferred field would cost a query per card.
    if explainer.__dict__.get("card_version") != cards_version():
        return None
    return Markup(explainer.card_html_first_row if first_row else explainer.card_html)


def date(value, format_string: str) -> str:
    """``value`` in the site's time zone, formatted as Django's ``date`` filter does."""
    return dateformat.format(timezone.localtime(value), format_string)


def pluralize(count: int, suffix: str = "s") -> str:
    return "" if count == 1 else suffix


def srcset(renditions) -> str:
    """An image's ``srcset`` attribute value: each rendition's URL and width."""
    return ", ".join(f"{rendition.url} {rendition.width}w" for rendition in renditions)


def json_ld(data) -> Markup:
    """``data`` as JSON to put inside a <script type="application/ld+json"> element.

    Inside <script>, "</script>" or "<!--" in an editor's title would end the block early:
    <, > and & are written as JSON escapes, which parse back to the same text.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def duration(value: timedelta | None) -> str:
    """A lockout's length in words: "15 minutes", "1 hour", "2 hours 30 minutes"."""
    if not value:
        return ""
    minutes = round(value.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour{pluralize(hours)}"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} minute{pluralize(minutes)}")
    return " ".join(parts)


def environment(**options) -> Environment:
    env = Environment(**options)
    env.globals.update(
        static=static, url=url, page_url=page_url, stored_card=stored_card, FIRST_ROW=FIRST_ROW
    )
    env.filters.update(
        date=date, pluralize=pluralize, srcset=srcset, json_ld=json_ld, duration=duration
    )
    return env
