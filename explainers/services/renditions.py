"""Renditions of hero images: drawn in the background when an image is saved, never during a
reader's request.

Whatever saves a new file or a new focal point (the admin, the importer) calls
``hero_renditions_schedule``; once its transaction commits, one task per file and focal point
(explainers/tasks.py; heroes that share a placeholder file share its renditions) draws them
all with ``renditions_make``, which then marks those heroes (``renditions_key``) so that pages
start offering them. Until then pages show the original, scaled by the browser. The
make_renditions command calls the same functions for ops.
"""

from functools import partial

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q

from ..cache import content_changed
from ..drawing import draw_renditions
from ..images import stale_crops
from ..models import Explainer, HeroImage
from .cards import cards_refresh

# What renditions_make reads of a hero: enough to know which renditions it needs.
RENDITION_FIELDS = [
    "pk",
    "image",
    "width",
    "height",
    "focal_x",
    "focal_y",
    "focal_width",
    "focal_height",
    "renditions_key",
    "renditions_problem",
]


def hero_renditions_schedule(*, heroes) -> int:
    """Have the renditions these heroes lack drawn in the background, once the current
    transaction commits; return how many tasks that queues (one per file and focal point)."""
    # Imported here: the tasks call this module's functions.
    from ..tasks import make_renditions

    pending = {}
    retried = []
    for hero in heroes:
        if not hero.original or hero.renditions_ready:
            continue
        pending.setdefault((hero.original, hero.wanted_renditions_key), hero)
        if hero.pk and hero.renditions_problem:
            retried.append(hero.pk)
    if retried:
        # The problem was with the file or focal point the hero had before.
        HeroImage.objects.filter(pk__in=retried).update(renditions_problem="")
    for original, key in sorted(pending):
        # robust: the save has committed; a queue that cannot be reached must not undo it or
        # turn it into an error page (make_renditions --missing catches up).
        transaction.on_commit(
            partial(make_renditions.enqueue, original=original, key=key), robust=True
        )
    return len(pending)


def renditions_make(*, original: str, key: str, redraw: bool = False) -> list[str]:
    """Draw the renditions of ``original`` for ``key`` if a hero still needs them, and mark
    the heroes that do; return the names drawn.

    Safe to repeat: files already in storage are kept (unless ``redraw``). A task queued for a
    focal point that has changed again since finds no hero wanting it and draws nothing.
    """
    heroes = _heroes_wanting(original, key)
    if not heroes:
        return []
    first = heroes[0]
    drawn = draw_renditions(original, first.width, first.height, first.focal_point, redraw=redraw)
    # Only heroes whose focal point is still the one drawn: one changed meanwhile keeps its
    # old key, so pages go on showing its original until its own task has run.
    marked = HeroImage.objects.filter(
        _focal_point_is(first), pk__in=[hero.pk for hero in heroes]
    ).update(renditions_key=key, renditions_problem="")
    if marked and any(hero.renditions_key != key for hero in heroes):
        # Cards, and pages cached with the original, now offer the renditions.
        cards_refresh(Explainer.objects.filter(hero__in=heroes))
        content_changed()
    return drawn


def renditions_failed(*, original: str, key: str, problem: str) -> int:
    """Note ``problem`` on the heroes waiting for these renditions, for the admin to show."""
    pks = [hero.pk for hero in _heroes_wanting(original, key)]
    field = HeroImage._meta.get_field("renditions_problem")
    return HeroImage.objects.filter(pk__in=pks).update(
        renditions_problem=problem[: field.max_length]
    )


def stale_crops_delete(*, original: str) -> list[str]:
    """Delete the crops of ``original`` that no hero shows or waits for any more."""
    keep = set()
    for hero in HeroImage.objects.filter(image=original).only(*RENDITION_FIELDS):
        keep |= {hero.wanted_renditions_key, hero.renditions_key}
    names = stale_crops(original, keep)
    for name in names:
        default_storage.delete(name)
    return names


def renditions_to_make(*, missing_only: bool = False) -> list[tuple[str, str]]:
    """The (file, key) pairs of every hero image, or only of those whose renditions are not
    made yet; each pair once, however many heroes share it."""
    pairs = {}
    heroes = HeroImage.objects.only(*RENDITION_FIELDS).order_by("image", "pk")
    for hero in heroes.iterator(chunk_size=2000):
        if missing_only and hero.renditions_ready:
            continue
        pairs.setdefault((hero.original, hero.wanted_renditions_key), None)
    return list(pairs)


def _heroes_wanting(original: str, key: str) -> list[HeroImage]:
    heroes = HeroImage.objects.filter(image=original).only(*RENDITION_FIELDS).order_by("pk")
    return [hero for hero in heroes if hero.wanted_renditions_key == key]


def _focal_point_is(hero: HeroImage) -> Q:
    condition = Q()
    for name in ("focal_x", "focal_y", "focal_width", "focal_height"):
        value = getattr(hero, name)
        condition &= Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})
    return condition
