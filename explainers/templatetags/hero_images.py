from django import template

register = template.Library()

# Cards in the first row (three on a wide screen) load at once; the rest wait for scrolling.
FIRST_ROW = 3


@register.inclusion_tag("explainers/includes/hero_picture.html")
def hero_picture(hero, sizes="100vw", position=1, below_the_fold=False, css_class=""):
    """A <picture> of the hero's WebP and JPEG renditions; ``position`` 1 is the page's first."""
    eager = position <= FIRST_ROW and not below_the_fold
    fallback = hero.rendition(800, "jpg")
    return {
        "hero": hero,
        "webp": hero.renditions("webp"),
        "jpg": hero.renditions("jpg"),
        "fallback": fallback,
        "sizes": sizes,
        "eager": eager,
        "first": eager and position == 1,
        "css_class": css_class,
    }
