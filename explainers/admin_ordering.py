"""The admin's ordering view: a listing reordered by drag and drop, by keyboard, or by
"Move the selected … to a position".

The ordering view is a changelist filtered to one listing and nothing else: explainers of one
category (``?category__id__exact=…``), categories under one parent (``?parent__id__exact=…``,
or ``?parent__isnull=True`` for the top level). There each row's number is a handle:
django-admin-sortable2's script drags it (SortableJS; one request per drop, to ``reorder/``)
and static/explainers/admin/ordering.js moves it with the keyboard (the same request), says
what happened and puts the rows back if the move is refused. Elsewhere the list says how to
get there. Explainers readers do not see are marked in the "Readers see" column.

Only sortable2's page side is used (SortableAdminBase: its styles and scripts). Its
SortableAdminMixin does not fit: it numbers the whole table as one listing, writes the numbers
the page sends, asks only for the change permission, records no revision, and keeps
per-request state on the ModelAdmin that every thread shares. Ours moves by identity within
one listing (services.ordering) and asks for the reorder permission.
"""

import json
from dataclasses import dataclass

from adminsortable2.admin import MovePageActionForm, SortableAdminBase
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ALL_VAR, PAGE_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseNotAllowed, JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from .models import State
from .services.ordering import can_reorder, listing_move_to, listing_reorder, listings_renumber


class PositionActionForm(MovePageActionForm):
    """The list's action bar, with the position "Move the selected … to a position" asks for.

    sortable2's page fields stay, hidden and unused: its script expects them on the page."""

    # Read and checked by the action itself: an invalid action form would make Django say
    # only "No action selected."
    position = forms.CharField(
        required=False,
        label="To position",
        widget=forms.NumberInput(attrs={"id": "changelist-form-position", "min": 1}),
    )


@dataclass(frozen=True)
class OrderingView:
    """The listing a changelist shows whole and in order: its group's id (None for the
    top-level categories) and name."""

    group_id: int | None
    group_name: str = ""


class OrderingViewMixin(SortableAdminBase):
    """A ModelAdmin's ordering view, its move request and "Move … to a position" (see above)."""

    # The field a listing is grouped by: "category" for explainers, "parent" for categories.
    ordering_group = ""
    # A listing's own order, which with_listing_numbers() numbers.
    listing_ordering: list[str] = []
    action_form = PositionActionForm
    change_list_template = "admin/explainers/ordering_change_list.html"

    def has_reorder_permission(self, request, obj=None):
        return can_reorder(request.user, self.model)

    def ordering_view(self, request) -> OrderingView | None:
        """The listing this changelist request shows whole and in order, if it does: filtered
        by its group alone (any other filter, search or sort shows only part of it)."""
        params = {
            name: request.GET.getlist(name)
            for name in request.GET
            if name not in (PAGE_VAR, ALL_VAR)
        }
        lookup = f"{self.ordering_group}__id__exact"
        if params.keys() == {lookup} and len(params[lookup]) == 1 and params[lookup][0].isdigit():
            return OrderingView(int(params[lookup][0]))
        if self.model._meta.get_field(self.ordering_group).null and params == {
            f"{self.ordering_group}__isnull": ["True"]
        }:
            return OrderingView(None)
        return None

    def is_reorderable(self, request) -> bool:
        """Whether this request's list gets handles: an ordering view, for someone who may
        reorder. (Only pages: a list action's POST acts on plain rows.)"""
        return (
            request.method == "GET"
            and self.ordering_view(request) is not None
            and self.has_reorder_permission(request)
        )

    def get_ordering(self, request):
        # Whatever order the list has elsewhere (the tree, for categories).
        if self.ordering_view(request) is not None:
            return self.listing_ordering
        return super().get_ordering(request)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.is_reorderable(request):
            queryset = queryset.with_listing_numbers()
        return queryset

    def get_list_display(self, request):
        return ["listing_position", *super().get_list_display(request)]

    def get_list_display_links(self, request, list_display):
        links = super().get_list_display_links(request, list_display)
        if not links:  # Django would make the first column the link: here, the handle
            return [name for name in list_display if name != "listing_position"][:1]
        return links

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.ordering_view(request) is None:
            # Positions count within one listing: elsewhere a selection can span several.
            actions.pop("move_to_position", None)
        return actions

    @property
    def media(self):
        return super().media + forms.Media(
            js=["explainers/admin/ordering.js"],
            css={"all": ["explainers/admin/ordering.css"]},
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "reorder/",
                self.admin_site.admin_view(self.reorder_view),
                name="{}_{}_reorder".format(*info),
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Position")
    def listing_position(self, record):
        row = getattr(record, "row_number", None)
        if row is None:
            return record.position + 1
        # ``pk`` and ``order`` are what sortable2's script reads off a handle.
        return format_html(
            '<button type="button" class="drag handle" pk="{}" order="{}" data-title="{}" '
            'aria-describedby="ordering-keys"><span class="visually-hidden">Position </span>'
            '<span class="row-number">{}</span><span class="visually-hidden">: move “{}”</span>'
            "</button>",
            record.pk,
            row,
            record,
            row,
            record,
        )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context is not None and "cl" in context:
            context["ordering"] = self.ordering_context(request, context["cl"])
        return response

    def ordering_context(self, request, cl) -> dict:
        """What the list says about ordering, and sortable2's settings in the ordering view.

        The group's name comes from the list's own filter, which has read them already."""
        view = self.ordering_view(request)
        spec = next(
            (s for s in cl.filter_specs if getattr(s, "field_path", "") == self.ordering_group),
            None,
        )
        names = {str(pk): name for pk, name in getattr(spec, "lookup_choices", [])}
        chosen = request.GET.get(f"{self.ordering_group}__id__exact", "")
        heading = ""
        if view is not None:
            name = names.get(str(view.group_id), "")
            view = OrderingView(view.group_id, name)
            heading = self.ordering_heading(view)
        return {
            "view": view,
            "heading": heading,
            "can_reorder": self.has_reorder_permission(request),
            "reorderable": self.is_reorderable(request),
            "group_label": self.model._meta.get_field(self.ordering_group).verbose_name,
            # How the group filter names "none" (top-level categories), if a group may be none.
            "no_group_label": self.get_empty_value_display()
            if self.model._meta.get_field(self.ordering_group).null
            else "",
            # Filtered by a group and more: the link to that group's whole listing.
            "whole_listing_url": f"?{self.ordering_group}__id__exact={chosen}"
            if chosen.isdigit() and view is None
            else "",
            "whole_listing_name": names.get(chosen, ""),
            "sortable2_config": {
                "update_url": reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_reorder"
                ),
                "current_page": cl.page_num,
                "total_pages": cl.paginator.num_pages,
            },
        }

    def ordering_heading(self, view: OrderingView) -> str:
        return f"Order of the {self.opts.verbose_name_plural} in {view.group_name}"

    def reorder_view(self, request):
        """A drag or a keyboard move, as django-admin-sortable2 sends it: ``updatedItems``
        lists [id, number] for the run of rows between where the row was and where it went,
        top to bottom as the page shows them after the move. Answers JSON whose
        ``message`` says what happened; 403, 400 or 409 when nothing moved."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        plural = self.opts.verbose_name_plural
        if not self.has_reorder_permission(request):
            return JsonResponse(
                {"message": f"You may not reorder {plural}; nothing moved."}, status=403
            )
        try:
            order = [int(row[0]) for row in json.loads(request.body)["updatedItems"]]
        except (ValueError, KeyError, TypeError, IndexError):
            return JsonResponse(
                {"message": "The move could not be read; nothing moved. Reload the page."},
                status=400,
            )
        try:
            move = listing_reorder(model=self.model, order=order, user=request.user)
        except PermissionDenied as refusal:
            return JsonResponse({"message": str(refusal)}, status=403)
        except ValidationError as refusal:
            return JsonResponse({"message": " ".join(refusal.messages)}, status=409)
        if move is None:
            return JsonResponse({"message": "Nothing moved: the rows were in that order already."})
        record = move.moved[0]
        return JsonResponse(
            {"message": f"Moved “{record}” to position {move.position} {move.where}."}
        )

    @admin.action(
        permissions=["reorder"],
        description="Move the selected %(verbose_name_plural)s to a position",
    )
    def move_to_position(self, request, queryset):
        raw = request.POST.get("position", "").strip()
        if not raw.isdigit() or int(raw) < 1:
            self.message_user(
                request,
                "Say which position to move them to, in “To position” (1 is the top).",
                messages.ERROR,
            )
            return
        try:
            move = listing_move_to(
                model=self.model,
                ids=list(queryset.values_list("pk", flat=True)),
                position=int(raw),
                user=request.user,
            )
        except ValidationError as refusal:
            self.message_user(request, " ".join(refusal.messages), messages.ERROR)
            return
        if move is None:
            self.message_user(request, f"Nothing moved: already at position {raw}.")
        elif len(move.moved) == 1:
            self.message_user(
                request,
                f"Moved “{move.moved[0]}” to position {move.position} {move.where}.",
                messages.SUCCESS,
            )
        else:
            last = move.position + len(move.moved) - 1
            self.message_user(
                request,
                f"Moved {len(move.moved)} {self.opts.verbose_name_plural} to positions "
                f"{move.position}–{last} {move.where}.",
                messages.SUCCESS,
            )

    def delete_model(self, request, obj):
        group_id = getattr(obj, f"{self.ordering_group}_id")
        with transaction.atomic():
            super().delete_model(request, obj)
            listings_renumber(model=self.model, group_ids=[group_id])

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            group_ids = set(queryset.values_list(f"{self.ordering_group}_id", flat=True))
            super().delete_queryset(request, queryset)
            listings_renumber(model=self.model, group_ids=group_ids)


class CategoryOrderingMixin(OrderingViewMixin):
    ordering_group = "parent"
    listing_ordering = ["position", "name", "pk"]

    def ordering_heading(self, view: OrderingView) -> str:
        if view.group_id is None:
            return "Order of the top-level categories"
        return f"Order of the categories under {view.group_name}"


class ExplainerOrderingMixin(OrderingViewMixin):
    ordering_group = "category"
    listing_ordering = ["position", "pk"]

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if self.is_reorderable(request):
            shown.insert(shown.index("title") + 1, "readers_see")
        return shown

    @admin.display(description="Readers see")
    def readers_see(self, explainer):
        """Where readers find it in the category, or why they do not (yet)."""
        state = explainer.state
        if state == State.DRAFT:
            return format_html('<span class="reader-hidden">{}</span>', "Not shown: draft")
        if state == State.SCHEDULED:
            when = date_format(timezone.localtime(explainer.published_at), "j M Y, H:i")
            return format_html('<span class="reader-hidden">Not yet: scheduled for {}</span>', when)
        card = format_html('Card <span class="card-number">{}</span>', explainer.card_number)
        if explainer.pending is not None:
            return format_html(
                '{} <span class="reader-hidden">with changes not shown yet</span>', card
            )
        return card
