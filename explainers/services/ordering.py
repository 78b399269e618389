"""Positions: explainers in their category's listing, categories among their siblings."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from ..cache import content_changed
from ..models import Category, Explainer
from .editing import saved_by


def listing_move(*, item: Category | Explainer, offset: int, loaded_version: int, user) -> bool:
    """Move a category among its siblings, or an explainer in its category's listing.

    ``offset`` is -1 (up) or 1 (down). A move made from a page that showed an older version
    of the item is refused (someone moved or changed it since). Positions are renumbered
    0..n-1 on the way, so ties left by imports or edits cannot make a move a no-op; every
    item whose position changes counts its version up. Says whether anything moved.
    """
    if isinstance(item, Explainer):
        siblings = Explainer.objects.filter(category_id=item.category_id).order_by("position", "pk")
    else:
        siblings = Category.objects.filter(parent_id=item.parent_id).order_by("position", "name")
    model = type(item)
    with transaction.atomic():
        ordered = list(siblings.select_for_update(of=("self",)).select_related("changed_by"))
        index = next(i for i, sibling in enumerate(ordered) if sibling.pk == item.pk)
        if ordered[index].version != loaded_version:
            raise ValidationError(
                f"“{item}” changed since this page was loaded ({saved_by(ordered[index])}); "
                "nothing moved. Look at the list as it is now and move it again."
            )
        target = index + offset
        if not 0 <= target < len(ordered):
            return False
        ordered[index], ordered[target] = ordered[target], ordered[index]
        moved = [s.pk for position, s in enumerate(ordered) if s.position != position]
        for position, sibling in enumerate(ordered):
            sibling.position = position
        model.objects.bulk_update(ordered, ["position"])
        model.objects.filter(pk__in=moved).update(version=F("version") + 1, changed_by=user)
        content_changed()
    return True
