"""Each explainer's card, rendered when what it shows is saved rather than when a list is read.

A card (``includes/card.html``) shows the explainer's title, excerpt, reading time and URL,
its category's path, its lead series and its hero's renditions. Rendering thirty of them was
most of a listing page's cost, so each is rendered once, when one of those is written, and
stored on the explainer in the two forms lists print: in a list's first row, its image
fetched at once, and below it, fetched when scrolled to; with the address it links to, which
the listing's structured data names, and its hero's sharing image, the page's when it is the
first card with a hero. A listing prints them as stored (``listing_cards``).

What a card shows is written in many places, each of which calls ``cards_refresh`` for the
explainers whose cards it changed, in its own transaction: an explainer's save (signals),
its series, a series renamed, a hero edited or its renditions made, a category moved or
renamed, imports and fixture loads. The refresh locks those explainers' rows first, so of
two writers touching the same cards the second renders them after the first has committed
and sees both writes. Many cards at once (a section moved, an import) are marked out of date
in the transaction and rendered by the background worker; until then listings render them
afresh, so a reader never sees a card older than its content.

The version stored with a card is a fingerprint of the templates it was rendered from: after
a deploy that changes them, listings render the old cards afresh until ``manage.py
render_cards`` (run by docker/setup.sh and ``make run`` after migrating) stores them
again.
"""

import hashlib
from dataclasses import asdict, fields
from functools import cache

from django.core.files.storage import default_storage
from django.db import transaction
from django.template import engines

from ..models import Explainer
from ..site import SharingImage

CARD_TEMPLATES = ["includes/card.html", "includes/picture.html", "includes/series_tag.html"]
STORED_CARD_TEMPLATE = "includes/stored_card.html"
# The position a card is rendered at for each stored form: the first of a list (its image
# fetched at once, at high priority), and one below the first row (fetched when scrolled to).
FIRST_ROW_POSITION, BELOW_FIRST_ROW_POSITION = 1, 4
# Cards a list shows in its first row on a wide screen (picture.html loads these at once).
FIRST_ROW = 3
# What a card is stored as, on its explainer (written together by _render).
STORED_FIELDS = [
    "card_html_first_row", "card_html", "card_url", "card_sharing_image", "card_version",
]  # fmt: skip
# Cards rendered in the writer's own transaction; more at once are left to the worker.
RENDER_NOW = 200
BATCH_SIZE = 500


@cache
def cards_version() -> str:
    """A fingerprint of what a stored card is made from besides its content: the card
    templates' sources, the address image files are served from, and the fields it is
    stored in (its sharing image's too), so that cards stored in another shape (before a
    field was added) are rendered afresh rather than read."""
    environment = engines["jinja2"].env
    digest = hashlib.sha256(default_storage.url("renditions/card.jpg").encode())
    stored_as = [*STORED_FIELDS, *(field.name for field in fields(SharingImage))]
    digest.update(" ".join(stored_as).encode())
    for name in CARD_TEMPLATES:
        source, _, _ = environment.loader.get_source(environment, name)
        digest.update(source.encode())
    return digest.hexdigest()[: Explainer._meta.get_field("card_version").max_length]


def cards_refresh(explainers) -> int:
    """Store afresh the cards of ``explainers`` (a queryset), in the caller's transaction;
    return how many. More than RENDER_NOW are marked out of date instead, and the worker
    stores them once the transaction has committed."""
    with transaction.atomic():
        # Locked until the caller commits: a concurrent refresh of the same cards waits, and
        # then renders them from both writes.
        ids = list(
            explainers.order_by("pk").select_for_update(of=("self",)).values_list("pk", flat=True)
        )
        if len(ids) > RENDER_NOW:
            Explainer.objects.filter(pk__in=ids).update(card_version="")
            transaction.on_commit(_render_outdated_later, robust=True)
            return len(ids)
        return _render(ids)


def cards_render_outdated() -> int:
    """Store every card that is out of date or was rendered from other templates; return how
    many. The worker's task and ``manage.py render_cards``."""
    rendered = 0
    while True:
        with transaction.atomic():
            batch = list(
                Explainer.objects.exclude(card_version=cards_version())
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:BATCH_SIZE]
            )
            if not batch:
                return rendered
            rendered += _render(batch)


def _render(ids: list[int]) -> int:
    template = engines["jinja2"].get_template(STORED_CARD_TEMPLATE)
    version = cards_version()
    explainers = list(Explainer.objects.filter(pk__in=ids).for_cards().order_by("pk"))
    for explainer in explainers:
        explainer.card_html_first_row = template.render(
            {"explainer": explainer, "position": FIRST_ROW_POSITION}
        )
        explainer.card_html = template.render(
            {"explainer": explainer, "position": BELOW_FIRST_ROW_POSITION}
        )
        explainer.card_url = explainer.get_absolute_url()
        explainer.card_sharing_image = sharing_image_of(explainer)
        explainer.card_version = version
    Explainer.objects.bulk_update(explainers, STORED_FIELDS, batch_size=BATCH_SIZE)
    return len(explainers)


def _render_outdated_later():
    from ..tasks import render_cards  # the tasks module imports the services

    render_cards.enqueue()


def sharing_image_of(explainer) -> dict | None:
    """Its hero's sharing image as the card stores it (None without a hero)."""
    image = explainer.sharing_image()
    return asdict(image) if image else None


def listing_cards(explainers) -> list[Explainer]:
    """The page of a listing (rows of ``Explainer.objects.for_listing()``), with every card
    the page cannot print as stored (out of date, or from other templates) loaded to be
    rendered afresh, in one query for all of them. Each row's ``listing_url`` is its
    address and ``listing_sharing_image`` its hero's SharingImage (None without a hero):
    its card's, or worked out afresh for a card rendered afresh."""
    rows = list(explainers)
    version = cards_version()
    fresh = [row.pk for row in rows if row.card_version != version]
    rendered = Explainer.objects.filter(pk__in=fresh).for_cards().in_bulk() if fresh else {}
    listing = []
    for row in rows:
        if row.pk in rendered:
            row = rendered[row.pk]
            row.listing_url = row.get_absolute_url()
            row.listing_sharing_image = row.sharing_image()
        else:
            row.listing_url = row.card_url
            stored = row.card_sharing_image
            row.listing_sharing_image = SharingImage(**stored) if stored else None
        listing.append(row)
    return listing
