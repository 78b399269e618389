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
def hero_picture(hero, sizes="100vw", position=1, below_the_fold=False, css_class="", crop=""):
    """A <picture> of the hero's WebP and JPEG renditions; ``position`` 1 is the page's first.

    ``hero`` is a HeroImage or a card's hero: anything with renditions and an alt text.
    ``crop="card"`` offers the 16:9 card crops instead of the whole image. Until the
    background task has made the renditions, the original stands in: the browser scales it,
    and crops it for a card with object-position where the server would crop (nothing is
    ever drawn during a request).
    """
    eager = position <= FIRST_ROW and not below_the_fold
    if not eager:
        loading = ' loading="lazy"'
    else:
        loading = ' fetchpriority="high"' if position == 1 else ""
    css = f' class="{escape(css_class)}"' if css_class else ""
    sizes = escape(sizes)
    alt = escape(hero.alt_text)
    if not hero.renditions_ready:
        original = hero.original_image()
        style = f' style="object-position: {hero.card_object_position()}"' if crop else ""
        return mark_safe(
            f'<picture{css}><img src="{escape(original.url)}" alt="{alt}" '
            f'width="{original.width:d}" height="{original.height:d}"{style} '
            f'decoding="async"{loading}></picture>'
        )
    if crop:
        webp, jpg = hero.card_renditions("webp"), hero.card_renditions("jpg")
    else:
        webp, jpg = hero.renditions("webp"), hero.renditions("jpg")
    fitting = [r for r in jpg if r.width <= 800]
    fallback = fitting[-1] if fitting else jpg[0]
    return mark_safe(
        f'<picture{css}><source type="image/webp" sizes="{sizes}" '
        f'srcset="{escape(srcset(webp))}">'
        f'<img src="{escape(fallback.url)}" srcset="{escape(srcset(jpg))}" '
        f'sizes="{sizes}" alt="{alt}" '
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
        picture = hero_picture(
            card.hero, CARD_SIZES, position, below_the_fold, "card-image", crop="card"
        )
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
