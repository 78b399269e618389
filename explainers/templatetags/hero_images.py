from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# Cards in the first row (three on a wide screen) load at once; the rest wait for scrolling.
FIRST_ROW = 3


@register.simple_tag
def hero_picture(hero, sizes="100vw", position=1, below_the_fold=False, css_class=""):
    """A <picture> of the hero's WebP and JPEG renditions; ``position`` 1 is the page's first.

    Built in Python rather than an included template: a page of 30 cards renders 30 of these.
    """
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
        mark_safe(loading),  # noqa: S308 (constant attributes, nothing from the hero)
    )


def srcset(renditions) -> str:
    return ", ".join(f"{rendition.url} {rendition.width}w" for rendition in renditions)
