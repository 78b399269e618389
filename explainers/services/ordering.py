"""Positions: explainers in their category's listing, categories among their siblings.

Positions are dense in each listing, from 0 (what people count as row 1). A record goes to the
end of its listing when it is created or given another category or parent (the models' save,
``models.take_place_in_listing``); the admin's ordering view moves records with the functions
here. Each move is one transaction, locks the listing, renumbers it densely and records one
revision of what moved ("Moved to position 3 in LLM Foundations."). A move is applied by
identity, never by writing the numbers a possibly outdated page showed: a drag says "this row
now comes before that one", and is refused when the rows it names changed since.
"""

from dataclasses import dataclass

import reversion
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q

from ..cache import content_changed
from ..models import Category, Explainer
from .publishing import can_publish


@dataclass(frozen=True)
class Listing:
    """How one kind of record is grouped and ordered (ties, before renumbering, by the rest)."""

    group_field: str
    order: tuple[str, ...]


LISTINGS = {
    Explainer: Listing("category", ("position", "pk")),
    Category: Listing("parent", ("position", "name", "pk")),
}


@dataclass
class Move:
    """What a move did: the records moved (as saved) and where they are now."""

    moved: list
    position: int  # the first one's, counted from 1
    where: str  # "in LLM Foundations", "under AI Principles", "at the top level"

    @property
    def comment(self) -> str:
        if len(self.moved) == 1:
            return f"Moved to position {self.position} {self.where}."
        last = self.position + len(self.moved) - 1
        return f"Moved to positions {self.position}–{last} {self.where}."


def can_reorder(user, model) -> bool:
    """Editors reorder explainers (what readers see first); whoever may change categories
    reorders them."""
    if model is Explainer:
        return can_publish(user)
    return user.has_perm("explainers.change_category")


def listing_reorder(*, model, order: list[int], user) -> Move | None:
    """Apply a drag or a keyboard move: ``order`` is a run of consecutive rows of one listing,
    by id, in the order the page shows them after the move.

    Such a run is the stretch between where a row was and where it went: the row moved from
    one end of it to the other. That row is placed next to its new neighbour in the listing as
    it is now; rows outside the run are not touched, wherever others moved them meanwhile. If
    the run is no longer consecutive, or its rows were reordered since the page was loaded,
    nothing moves (ValidationError). Returns None when the run is already in that order.
    """
    listing = LISTINGS[model]
    _check_permission(user, model)
    if len(order) < 2 or len(set(order)) != len(order):
        raise ValidationError("A move names at least two rows, each once.")
    with transaction.atomic():
        where, siblings = _locked_listing(model, order)
        ids = [sibling.pk for sibling in siblings]
        index = {pk: number for number, pk in enumerate(ids)}
        spots = sorted(index.get(pk, -1) for pk in order)
        first = spots[0]
        if first < 0 or spots != list(range(first, first + len(order))):
            raise _changed_since(model)
        now = ids[first : first + len(order)]
        if now == order:
            return None
        if order[1:] == now[:-1]:
            moved = order[0]  # dragged up, to the top of the run
        elif order[:-1] == now[1:]:
            moved = order[-1]  # dragged down, to the bottom of the run
        else:
            raise _changed_since(model)
        new_order = ids[:first] + order + ids[first + len(order) :]
        return _apply(model, listing, siblings, new_order, [moved], where, user)


def listing_move_to(*, model, ids: list[int], position: int, user) -> Move | None:
    """Move the records ``ids`` (of one listing) to ``position``, counted from 1: the first
    of them lands there, the others follow in their present order. A position past the end
    means the end. Returns None when they are there already."""
    listing = LISTINGS[model]
    _check_permission(user, model)
    if position < 1:
        raise ValidationError("Positions count from 1.")
    with transaction.atomic():
        where, siblings = _locked_listing(model, ids)
        current = [sibling.pk for sibling in siblings]
        chosen = set(ids)
        if not chosen <= set(current):
            raise _changed_since(model)
        moving = [pk for pk in current if pk in chosen]
        rest = [pk for pk in current if pk not in chosen]
        at = min(position, len(rest) + 1) - 1
        new_order = rest[:at] + moving + rest[at:]
        if new_order == current:
            return None
        return _apply(model, listing, siblings, new_order, moving, where, user)


def listings_renumber(*, model, group_ids) -> int:
    """Make the listings of ``group_ids`` (categories, or parents; None for the top level)
    dense again, keeping their order: after deletions or an import. Returns how many
    records changed position."""
    listing = LISTINGS[model]
    group_ids = set(group_ids)
    column = f"{listing.group_field}_id"
    groups = Q(**{f"{column}__in": group_ids - {None}})
    if None in group_ids:
        groups |= Q(**{f"{listing.group_field}__isnull": True})
    rows = model.objects.filter(groups).order_by(column, *listing.order)
    rows = rows.only("pk", column, "position")
    changed, numbers = [], {}
    for row in rows:
        position = numbers.get(getattr(row, column), 0)
        numbers[getattr(row, column)] = position + 1
        if row.position != position:
            row.position = position
            changed.append(row)
    model.objects.bulk_update(changed, ["position"])
    if changed:
        content_changed()
    return len(changed)


def _locked_listing(model, ids: list[int]) -> tuple[str, list]:
    """The listing the records ``ids`` are in, locked (with its category row) until the
    transaction ends, in its order; and how to say where it is."""
    listing = LISTINGS[model]
    column = f"{listing.group_field}_id"
    groups = set(model.objects.filter(pk__in=ids).values_list(column, flat=True))
    if len(groups) != 1:
        if not groups:
            raise _changed_since(model)
        raise ValidationError(f"Move {model._meta.verbose_name_plural} of one listing at a time.")
    group_id = groups.pop()
    group = None
    if group_id is not None:
        group = Category.objects.select_for_update().only("name").get(pk=group_id)
    siblings = list(
        model.objects.filter(**{column: group_id})
        .order_by(*listing.order)
        .select_for_update()
        .only("pk", "position")
    )
    if model is Explainer:
        where = f"in {group.name}"
    else:
        where = f"under {group.name}" if group is not None else "at the top level"
    return where, siblings


def _apply(model, listing, siblings, new_order: list[int], moved_ids: list[int], where, user):
    by_pk = {sibling.pk: sibling for sibling in siblings}
    changed = []
    for position, pk in enumerate(new_order):
        sibling = by_pk[pk]
        if sibling.position != position:
            sibling.position = position
            changed.append(sibling)
    model.objects.bulk_update(changed, ["position"])
    # Only what was moved counts as changed by this user: the rows it passed kept their
    # content, and forms open on them save as before.
    model.objects.filter(pk__in=moved_ids).update(version=F("version") + 1, changed_by=user)
    moved = list(model.objects.filter(pk__in=moved_ids).order_by(*listing.order))
    move = Move(moved=moved, position=moved[0].position + 1, where=where)
    with reversion.create_revision():
        reversion.set_user(user)
        reversion.set_comment(move.comment)
        for record in moved:
            reversion.add_to_revision(record)
    content_changed()
    return move


def _check_permission(user, model) -> None:
    if not can_reorder(user, model):
        raise PermissionDenied(f"You may not reorder {model._meta.verbose_name_plural}.")


def _changed_since(model) -> ValidationError:
    return ValidationError(
        f"These {model._meta.verbose_name_plural} changed place since this page was loaded "
        "(someone else moved, added or removed one); nothing moved. Reload the page to see "
        "the order as it is now, and move again."
    )
