"""Cards and hero pictures, built in Python: a page of 30 cards renders 30 of each.

Like the admin's result rows (admin_list.items_for_result), they are assembled with
format_html, which escapes every value, instead of an included template per card: that
made a category page spend most of its time in template variable lookups.
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# Cards in the first row (three on a wide screen) load at once; the rest wait for scrolling.
FIRST_ROW = 3
CARD_SIZES = "(min-width: 68rem) 21rem, (min-width: 40rem) 46vw, 92vw"


@register.simple_tag
def hero_picture(hero, sizes="100vw", position=1, below_the_fold=False, css_class=""):
    """A <picture> of the hero's WebP and JPEG renditions; ``position`` 1 is the page's first."""
    eager = position <= FIRST_ROW and not below_the_fold
    fallback = hero.rendition(800, "jpg")
    loading = ' fetchpriority="high"' if eager and position == 1 else ""
    loading += "" if eager else ' loading="lazy"'
    return format_html(
        '<picture{}><source type="image/webp" sizes="{}" srcset="{}">'
        '<img src="{}" srcset="{}" sizes="{}" alt="{}" width="{}" height="{}" '
        'decoding="async"{}></picture>',
        format_html(' class="{}"', css_class) if css_class else "",
        sizes,
        srcset(hero.renditions("webp")),
        fallback.url,
        srcset(hero.renditions("jpg")),
        sizes,
        hero.alt_text,
        fallback.width,
        fallback.height,
        mark_safe(loading),  # constant attributes, nothing from the hero
    )


@register.simple_tag
def explainer_card(explainer, position, below_the_fold=False, with_snippet=False):
    """One card: picture, series tag, reading time, title linking to the explainer, excerpt.

    With ``with_snippet``, the search view's highlighted ``explainer.snippet`` replaces the
    excerpt (it is already escaped, with <mark> around the matched words).
    """
    if explainer.hero:
        picture = hero_picture(
            explainer.hero, CARD_SIZES, position, below_the_fold, css_class="card-image"
        )
    else:
        picture = mark_safe('<div class="card-image card-image-empty"></div>')
    series = explainer.primary_series
    series_tag = (
        format_html(
            '<a class="series-tag" href="{}">{}</a> ', series.get_absolute_url(), series.name
        )
        if series
        else ""
    )
    if with_snippet:
        text = format_html('<p class="card-excerpt card-snippet">{}</p>', explainer.snippet)
    else:
        text = format_html('<p class="card-excerpt">{}</p>', explainer.excerpt)
    return format_html(
        '<article class="card">{}<div class="card-body">'
        '<p class="card-meta">{}<span class="reading-time">{} min</span></p>'
        '<h3 class="card-title"><a href="{}">{}</a></h3>{}</div></article>',
        picture,
        series_tag,
        explainer.reading_time,
        explainer.get_absolute_url(),
        explainer.title,
        text,
    )


def srcset(renditions) -> str:
    return ", ".join(f"{rendition.url} {rendition.width}w" for rendition in renditions)
