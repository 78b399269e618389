"""Card grids and hero pictures, built in Python: a page of 30 cards renders 30 of each.

Like the admin's result rows (admin_list.items_for_result), they are assembled in Python
instead of an included template per card, which spent most of a category page's time in
variable lookups. Every value from the database goes through ``escape`` (the standard
library's, which escapes the same five characters as Django's; format_html's lazy-string
checks made it three times slower here).
"""

from html import escape

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = template.Library()

# Cards in the first row (three on a wide screen) load at once; the rest wait for scrolling.
FIRST_ROW = 3
CARD_SIZES = "(min-width: 68rem) 21rem, (min-width: 40rem) 46vw, 92vw"


@register.simple_tag
def hero_picture(hero, sizes="100vw", position=1, below_the_fold=False, css_class=""):
    """A <picture> of the hero's WebP and JPEG renditions; ``position`` 1 is the page's first.

    ``hero`` is a HeroImage or a card's hero: anything with renditions and an alt text.
    """
    eager = position <= FIRST_ROW and not below_the_fold
    if not eager:
        loading = ' loading="lazy"'
    else:
        loading = ' fetchpriority="high"' if position == 1 else ""
    fallback = hero.rendition(800, "jpg")
    css = f' class="{escape(css_class)}"' if css_class else ""
    sizes = escape(sizes)
    return mark_safe(
        f'<picture{css}><source type="image/webp" sizes="{sizes}" '
        f'srcset="{escape(srcset(hero.renditions("webp")))}">'
        f'<img src="{escape(fallback.url)}" srcset="{escape(srcset(hero.renditions("jpg")))}" '
        f'sizes="{sizes}" alt="{escape(hero.alt_text)}" '
        f'width="{fallback.width:d}" height="{fallback.height:d}" decoding="async"{loading}>'
        "</picture>"
    )


@register.simple_tag
def card_grid(cards, below_the_fold=False, with_snippets=False):
    """A grid of cards (``cards.Card``); ``below_the_fold`` when the page opens elsewhere."""
    return mark_safe(
        '<div class="card-grid">'
        + "".join(
            card_html(card, position, below_the_fold, with_snippets)
            for position, card in enumerate(cards, start=1)
        )
        + "</div>"
    )


def card_html(card, position, below_the_fold=False, with_snippet=False) -> str:
    """One card (a ``cards.Card``): picture, series tag, reading time, title linking to the
    explainer, excerpt.

    With ``with_snippet``, the search view's highlighted ``card.snippet`` replaces the
    excerpt (it is already escaped, with <mark> around the matched words).
    """
    if card.hero:
        picture = hero_picture(card.hero, CARD_SIZES, position, below_the_fold, "card-image")
    else:
        picture = '<div class="card-image card-image-empty"></div>'
    series = card.series
    series_tag = (
        f'<a class="series-tag" href="{escape(series.get_absolute_url())}">'
        f"{escape(series.name)}</a> "
        if series
        else ""
    )
    if with_snippet:
        text = f'<p class="card-excerpt card-snippet">{conditional_escape(card.snippet)}</p>'
    else:
        text = f'<p class="card-excerpt">{escape(card.excerpt)}</p>'
    return (
        f'<article class="card">{picture}<div class="card-body">'
        f'<p class="card-meta">{series_tag}'
        f'<span class="reading-time">{card.reading_time:d} min</span></p>'
        f'<h3 class="card-title"><a href="{escape(card.get_absolute_url())}">'
        f"{escape(card.title)}</a></h3>{text}</div></article>"
    )


def srcset(renditions) -> str:
    return ", ".join(f"{rendition.url} {rendition.width}w" for rendition in renditions)
