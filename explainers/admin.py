from functools import partial

import reversion
from csp.constants import SELF
from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F, OuterRef, Q
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.clickjacking import xframe_options_sameorigin
from reversion.models import Version
from reversion_compare.admin import CompareVersionAdmin

from .admin_ordering import CategoryOrderingMixin, ExplainerOrderingMixin
from .admin_scale import (
    AutocompleteFilter,
    EstimatedCountPaginator,
    TreePath,
    UncountedPaginator,
    count_of,
    is_autocomplete,
)
from .body_images import body_images, picker_entry
from .forms import (
    CategoryAdminForm,
    ExplainerAdminForm,
    HeroImageAdminForm,
    SeriesAdminForm,
)
from .health import (
    EXPLAINER_CHECKS,
    HERO_CHECKS,
    blocking,
    content_problems,
    failing_explainers,
    failing_heroes,
    problems_by_explainer,
    warning_codes,
)
from .images import crop_previews, focal_marker
from .markup import BODY_MAX_LENGTH, body_length_message, render_markdown
from .models import FOCAL_FIELDS, Category, Explainer, HeroImage, Series, SeriesItem, State
from .search import UnsearchableQuery, search
from .services.editing import (
    presence_leave,
    presence_touch,
    scratch_copy_discard,
    scratch_copy_for,
    scratch_copy_save,
)
from .services.publishing import (
    can_publish,
    explainer_approve,
    explainer_publish_changes,
    explainer_recover,
    explainer_request_changes,
    explainer_save,
    explainer_submit,
    explainers_publish,
    explainers_unpublish,
)
from .services.renditions import hero_renditions_schedule
from .views import PendingPreviewView

reversion.register(SeriesItem)

WORKFLOW_BUTTONS = {
    "_submit_for_review": "Submit for review",
    "_publish_changes": "Publish changes",
    "_approve": "Approve",
    "_request_changes": "Request changes",
}


class EditorialSafetyMixin:
    """What every change form of ours does so that nobody's work is lost.

    The form is stale-safe (forms.StaleSafeForm); the page shows who else has it open
    (presence, through the shared cache) and autosaves unsaved input to a scratch copy of
    the user's own, which reopening the form offers to restore. History's "revert" loads a
    revision's content into the form instead of writing it (``restorable_fields``).
    """

    change_form_template = "admin/explainers/edit_form.html"
    restorable_fields: list[str] = []

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/presence/",
                self.admin_site.admin_view(self.presence_view),
                name="{}_{}_presence".format(*info),
            ),
            path(
                "<path:object_id>/autosave/",
                self.admin_site.admin_view(self.autosave_view),
                name="{}_{}_autosave".format(*info),
            ),
            *super().get_urls(),
        ]

    def _object_or_404(self, request, object_id):
        if object_id == "add":
            if not self.has_add_permission(request):
                raise PermissionDenied
            return None
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with id “{object_id}”.")
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def presence_view(self, request, object_id):
        """POST every ~30 s while a form is open: answers who else has it open."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self._object_or_404(request, object_id)
        if obj is None:
            return JsonResponse({"others": []})
        if request.POST.get("leave"):
            presence_leave(model=self.model, object_id=obj.pk, user=request.user)
            return JsonResponse({"others": []})
        others = presence_touch(model=self.model, object_id=obj.pk, user=request.user)
        return JsonResponse({"others": others})

    def autosave_view(self, request, object_id):
        """POST a dirty form's fields (a scratch copy for this user), or ``discard=1``."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self._object_or_404(request, object_id)
        key = {"user": request.user, "model": self.model, "object_id": obj and obj.pk}
        if request.POST.get("discard"):
            scratch_copy_discard(**key)
            back = obj and reverse(self._url_name("change"), args=[obj.pk])
            return HttpResponseRedirect(back or reverse(self._url_name("add")))
        data = {
            name: values
            for name, values in request.POST.lists()
            if name != "csrfmiddlewaretoken" and not name.startswith("_")
        }
        copy = scratch_copy_save(data=data, **key)
        return JsonResponse({"saved_at": copy.saved_at.isoformat()})

    def _url_name(self, view):
        return f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        if request.method == "GET" and request.GET.get("restore") == "scratch":
            copy = scratch_copy_for(user=request.user, model=self.model, object_id=obj and obj.pk)
            if copy is not None:
                data = QueryDict(mutable=True)
                for name, values in copy.data.items():
                    data.setlist(name, values)
                form.restored_data = data
        revision = request.GET.get("revision")
        if request.method == "GET" and revision and obj is not None:
            version = get_object_or_404(
                Version.objects.get_for_object(obj), pk=revision if revision.isdigit() else 0
            )
            form.restored_initial = self.restored_content(version)
        return form

    def restored_content(self, version: Version) -> dict:
        """The fields of a revision that restoring loads into the form."""
        return {name: version.field_dict.get(name) for name in self.restorable_fields}

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        context.update(
            editing_form=form,
            presence_url=reverse(self._url_name("presence"), args=[obj.pk]) if obj else "",
            autosave_url=reverse(self._url_name("autosave"), args=[obj.pk if obj else "add"]),
            autosave_seconds=settings.AUTOSAVE_SECONDS,
            presence_seconds=settings.PRESENCE_HEARTBEAT_SECONDS,
            scratch_copy=(
                None
                if request.method == "POST" or form.restored_data is not None
                else scratch_copy_for(user=request.user, model=self.model, object_id=obj and obj.pk)
            ),
            restored_revision=request.GET.get("revision") if form.restored_initial else None,
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.after_save(request, obj, form)

    def after_save(self, request, obj, form):
        scratch_copy_discard(user=request.user, model=self.model, object_id=None)
        scratch_copy_discard(user=request.user, model=self.model, object_id=obj.pk)
        if form.merge_note:
            messages.info(request, form.merge_note)
            request.history_notes = [*getattr(request, "history_notes", []), form.merge_note]

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        notes = getattr(request, "history_notes", [])
        if notes and reversion.is_active():
            reversion.set_comment(" ".join([entry.get_change_message(), *notes]))
        return entry

    def revision_view(self, request, object_id, version_id, extra_context=None):
        """Load a revision's content into the form, to be saved like any edit.

        It never writes by itself, and never touches status, publication time, position
        or owner: restoring needs the right to edit the record as it is now.
        """
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with id “{object_id}”.")
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        version = get_object_or_404(Version.objects.get_for_object(obj), pk=version_id)
        return HttpResponseRedirect(
            f"{reverse(self._url_name('change'), args=[obj.pk])}?revision={version.pk}"
        )


@admin.register(Category)
class CategoryAdmin(EditorialSafetyMixin, CategoryOrderingMixin, CompareVersionAdmin):
    form = CategoryAdminForm
    restorable_fields = ["name", "slug", "description"]
    list_display = ["indented_name", "parent", "explainer_count"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    # As the explainer list: a page of a big tree costs its rows' rendering (about 0.4 ms
    # each in the admin's templates), not its queries.
    list_per_page = 50
    actions = ["move_to_position"]
    search_fields = ["name", "path"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "parent", "description", "path"]
    readonly_fields = ["path"]
    # The tree, each category under its parent (the model's order is siblings' order, which
    # the ordering view keeps: admin_ordering.OrderingViewMixin.get_ordering).
    ordering = [TreePath().asc()]

    def get_queryset(self, request):
        categories = (
            super()
            .get_queryset(request)
            .select_related("parent")
            .order_by(F("parent__path").asc(nulls_first=True), "position", "name")
        )
        if is_autocomplete(request):
            return categories
        return categories.annotate(
            explainer_total=count_of(Explainer.objects, category=OuterRef("pk"))
        )

    @admin.display(description="Name", ordering=TreePath().asc())
    def indented_name(self, category):
        depth = category.path.count("/")
        return format_html('<span style="padding-left:{}em">{}</span>', 1.5 * depth, category)

    @admin.display(description="Explainers", ordering="explainer_total")
    def explainer_count(self, category):
        return category.explainer_total


@admin.register(Series)
class SeriesAdmin(EditorialSafetyMixin, CompareVersionAdmin):
    form = SeriesAdminForm
    restorable_fields = ["name", "slug"]
    list_display = ["name", "slug", "explainer_count"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        series = super().get_queryset(request).order_by("name")
        if is_autocomplete(request):
            return series
        return series.annotate(explainer_total=count_of(SeriesItem.objects, tag=OuterRef("pk")))

    @admin.display(description="Explainers", ordering="explainer_total")
    def explainer_count(self, series):
        return series.explainer_total


def thumbnail(hero):
    if hero is None:
        return "—"
    return format_html(
        '<img src="{}" width="96" height="{}" alt="" class="admin-thumbnail">',
        # The original stands in until the background task has made the renditions.
        hero.shown_image(400).url,
        round(96 * hero.height / hero.width),
    )


class ExplainerHealthFilter(admin.SimpleListFilter):
    """Published or scheduled explainers failing one content health check: the rows the
    health report (/admin/health/) counts."""

    title = "content health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [(check.code, check.label) for check in EXPLAINER_CHECKS]

    def queryset(self, request, queryset):
        if self.value() in {code for code, _ in self.lookup_choices}:
            return failing_explainers(queryset, self.value())
        return queryset


class HeroHealthFilter(ExplainerHealthFilter):
    """Hero images a published or scheduled explainer shows, failing one check."""

    def lookups(self, request, model_admin):
        return [(check.code, check.label) for check in HERO_CHECKS]

    def queryset(self, request, queryset):
        if self.value() in {code for code, _ in self.lookup_choices}:
            return failing_heroes(queryset, self.value())
        return queryset


@admin.register(HeroImage)
class HeroImageAdmin(EditorialSafetyMixin, CompareVersionAdmin):
    form = HeroImageAdminForm
    restorable_fields = ["alt_text", "caption", "credit", *FOCAL_FIELDS]
    list_display = ["preview_thumbnail", "alt_text", "dimensions", "is_placeholder", "usage"]
    # The alt text names the link; the thumbnail beside it is decorative (alt="").
    list_display_links = ["alt_text"]
    list_filter = ["is_placeholder", HeroHealthFilter]
    search_fields = ["alt_text", "caption", "credit", "image"]
    readonly_fields = [
        "focal_point_editor",
        "original_filename",
        "dimensions",
        "rendition_sizes",
        "renditions_status",
        "is_placeholder",
        "used_by",
    ]
    fieldsets = [
        (None, {"fields": ["image", "alt_text", "caption", "credit"]}),
        (
            "Focal point",
            {
                "fields": [
                    "focal_point_editor",
                    ("focal_x", "focal_y"),
                    ("focal_width", "focal_height"),
                ]
            },
        ),
        (
            "About the file",
            {
                "fields": [
                    "original_filename",
                    "dimensions",
                    "rendition_sizes",
                    "renditions_status",
                    "is_placeholder",
                ]
            },
        ),
        ("Where it is used", {"fields": ["used_by"]}),
    ]

    class Media:
        js = ["explainers/admin/focal-point.js"]
        css = {"all": ["explainers/admin/focal-point.css"]}

    # Newest first, as the primary key's index has them (a sort of every image by its
    # creation time took most of the page with 100,000 of them); nor a count of them all.
    ordering = ["-pk"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_queryset(self, request):
        # The autocomplete pages need a stable order.
        heroes = super().get_queryset(request).order_by("-pk")
        if is_autocomplete(request):
            return heroes
        return heroes.annotate(usage_total=count_of(Explainer.objects, hero=OuterRef("pk")))

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if is_autocomplete(request):
            # The hero select searches four texts of every image: up to the page's rows only.
            return UncountedPaginator(queryset, per_page, orphans, allow_empty_first_page)
        return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)

    def has_change_permission(self, request, obj=None):
        # What readers see (or will, once scheduled) is editors' to change: a contributor
        # uploads a new image and proposes it in a pending version instead.
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed or can_publish(request.user):
            return allowed
        return not HeroImage.objects.used_by_live().filter(pk=obj.pk).exists()

    def get_deleted_objects(self, objs, request):
        # An image a body shows, saved or pending, stays: readers would get a broken image.
        # (A hero is protected by its foreign key already.)
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = [
            *protected,
            *(
                f"Explainer: {explainer} (its body shows the image)"
                for explainer in Explainer.objects.showing_in_body(objs).only("title")
            ),
        ]
        return deleted, counts, perms_needed, protected

    @admin.display(description="Image")
    def preview_thumbnail(self, hero):
        return thumbnail(hero)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # A new file or focal point: the worker draws the renditions once this save commits,
        # so that no reader's request ever has to.
        hero_renditions_schedule(heroes=[obj])

    @admin.display(description="Image and crops")
    def focal_point_editor(self, hero):
        focal = hero.focal_point
        return render_to_string(
            "admin/explainers/focal_point_editor.html",
            {
                # The whole image at 1200 px once made (the original until then).
                "image": hero.shown_image(1200) if hero.pk else None,
                "alt_text": hero.alt_text,
                "width": hero.width,
                "height": hero.height,
                "marker": focal_marker(focal),
                "previews": crop_previews(hero.width, hero.height, focal),
            },
        )

    @admin.display(description="Size")
    def dimensions(self, hero):
        return f"{hero.width} × {hero.height} px" if hero.pk else "—"

    @admin.display(description="Sizes served to readers")
    def rendition_sizes(self, hero):
        if not hero.pk:
            return "—"
        sizes = ", ".join(f"{r.width} × {r.height}" for r in hero.renditions("jpg"))
        cards = ", ".join(f"{r.width} × {r.height}" for r in hero.card_renditions("jpg"))
        return (
            f"{sizes}; cards {cards}; link previews 1200 × 630 (WebP, with JPEG for older browsers)"
        )

    @admin.display(description="Renditions")
    def renditions_status(self, hero):
        if not hero.pk:
            return "Made in the background once the image is saved."
        if hero.renditions_ready:
            return "Made, for the file and focal point as saved."
        if hero.renditions_problem:
            return format_html(
                '<strong class="renditions-problem">{}</strong>', hero.renditions_problem
            )
        return (
            "Being made in the background. Until they are, pages show the original image, "
            "scaled by the browser."
        )

    @admin.display(description="Used by", ordering="usage_total")
    def usage(self, hero):
        return hero.usage_total

    @admin.display(description="Explainers using it")
    def used_by(self, hero):
        explainers = (
            list(
                Explainer.objects.filter(
                    Q(hero=hero) | Q(pk__in=Explainer.objects.showing_in_body([hero]))
                ).only("pk", "title")
            )
            if hero.pk
            else []
        )
        if not explainers:
            return "Not used yet."
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a>',
            (
                (reverse("admin:explainers_explainer_change", args=[e.pk]), e.title)
                for e in explainers
            ),
        )


class PlaceholderHeroFilter(admin.SimpleListFilter):
    title = "placeholder hero"
    parameter_name = "placeholder_hero"

    def lookups(self, request, model_admin):
        return [("yes", "Placeholder to replace"), ("no", "Real image")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(hero__is_placeholder=True)
        if self.value() == "no":
            return queryset.filter(hero__is_placeholder=False)
        return queryset


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return State.choices

    def queryset(self, request, queryset):
        if self.value() in State.values:
            return queryset.in_state(self.value())
        return queryset


class OwnerFilter(admin.SimpleListFilter):
    """Mine or everyone's; contributors start on their own work."""

    title = "owner"
    parameter_name = "owner"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        if self.value() is None and not can_publish(request.user):
            self.used_parameters[self.parameter_name] = "mine"
        self.user = request.user

    def lookups(self, request, model_admin):
        return [("mine", "Mine"), ("everyone", "Everyone's")]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value or (self.value() is None and value == "everyone"),
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.owned_by(request.user)
        return queryset


class CategoryFilter(AutocompleteFilter):
    field_name = "category"


class SeriesFilter(AutocompleteFilter):
    field_name = "series"


# The body's HTML and images are not content but derived from the body (Explainer.save
# renders and reads it): a revision does not keep them, and a revert is followed by a save.
reversion.register(
    Explainer,
    follow=["seriesitem_set"],
    exclude=[
        "body_html",
        "body_images",
        "card_html_first_row",
        "card_html",
        "card_url",
        "card_version",
    ],  # fmt: skip
)

# Shorter search terms are not words the full-text index knows.
FULL_TEXT_MIN_LENGTH = 3

# Images a page of the body's image picker lists.
IMAGE_LIBRARY_PAGE_SIZE = 12


@admin.register(Explainer)
class ExplainerAdmin(EditorialSafetyMixin, ExplainerOrderingMixin, CompareVersionAdmin):
    form = ExplainerAdminForm
    restorable_fields = [*Explainer.CONTENT_FIELDS, "series"]
    list_display = [
        "hero_thumbnail",
        "title",
        "category",
        "series_names",
        "state",
        "owner",
        "reading_time",
        "published_at",
        "updated_at",
    ]
    # The title names the link; the thumbnail beside it is decorative (alt="").
    list_display_links = ["title"]
    list_filter = [
        OwnerFilter,
        StateFilter,
        CategoryFilter,
        SeriesFilter,
        ("published_at", admin.DateFieldListFilter),
        PlaceholderHeroFilter,
        ExplainerHealthFilter,
    ]
    # Searched by get_search_results: words through the full-text index (title, excerpt,
    # body), or these for a term of one or two characters.
    search_fields = ["title", "slug"]
    list_per_page = 50
    # No count of the whole table on every page: the paginator estimates it when unfiltered.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # By category, each in its listing's order: what an index serves ((category, position)).
    # By the categories' paths, every row of the table was sorted for each page.
    ordering = ["category_id", "position", "pk"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["category", "hero"]
    actions = ["publish_selected", "unpublish_selected", "move_to_position"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "category", "series", "excerpt", "body"]}),
        ("Image", {"fields": ["hero"]}),
        ("Publishing", {"fields": ["status", "published_at", "reading_time"]}),
    ]

    def get_queryset(self, request):
        explainers = (
            super()
            .get_queryset(request)
            .select_related("category", "hero", "owner", "changed_by")
            .prefetch_related("series")
        )
        view = getattr(request.resolver_match, "url_name", "")
        if request.method == "GET" and view == "explainers_explainer_changelist":
            # Long texts the list never shows (the change form and the actions read them).
            explainers = explainers.defer("body", "body_html")
        return explainers

    def get_search_results(self, request, queryset, search_term):
        """Through the full-text index (explainers.search), not LIKE over every body; a term
        too short for it is looked for in titles and slugs."""
        term = " ".join(search_term.split())
        if not term:
            return queryset, False
        if len(term) < FULL_TEXT_MIN_LENGTH:
            return queryset.filter(Q(title__icontains=term) | Q(slug__icontains=term)), False
        try:
            # Among the rows the list's filters left; no spelling correction: an editor
            # looks for what they typed.
            found = search(queryset, term, correct=False)
        except UnsearchableQuery as advice:
            messages.warning(request, str(advice))
            return queryset.none(), False
        if found.is_approximate:
            total = f"{found.match_count:,}"
            if found.is_count_capped:
                total = f"over {found.match_count - 1:,}"
            messages.info(
                request,
                f"Listed: the {len(found):,} best of {total} matches. Add a word, or a filter, "
                "to find the rest.",
            )
        # The list keeps its own order (the search's rank is not a column of it).
        return queryset.filter(pk__in=found.ids), False

    @property
    def media(self):
        return super().media + AutocompleteFilter.media()

    def get_object(self, request, object_id, from_field=None):
        # Editors work on the working copy: the pending version, when there is one.
        explainer = super().get_object(request, object_id, from_field)
        return explainer.show_pending() if explainer is not None else None

    def has_publish_permission(self, request):
        return can_publish(request.user)

    def has_change_permission(self, request, obj=None):
        # Contributors' edits to live explainers wait as pending versions; while their work
        # waits for review, it is the reviewers' to change.
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed or can_publish(request.user):
            return allowed
        return obj.review != State.IN_REVIEW

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not can_publish(request.user):
            readonly += ["status", "published_at"]
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        images = self.admin_site.get_model_admin(HeroImage)
        form.image_picker = images.has_view_permission(request)
        form.image_upload = images.has_add_permission(request)
        return form

    def get_urls(self):
        # The preview frame is the one admin page another page (the change form, on this
        # site only) may show in a frame.
        frame = xframe_options_sameorigin(
            csp_replace({"frame-ancestors": [SELF]})(self.preview_frame_view)
        )
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="explainers_explainer_preview",
            ),
            path(
                "preview/frame/",
                self.admin_site.admin_view(frame),
                name="explainers_explainer_preview_frame",
            ),
            path(
                "image-library/",
                self.admin_site.admin_view(self.image_library_view),
                name="explainers_explainer_image_library",
            ),
            path(
                "<path:object_id>/pending/",
                self.admin_site.admin_view(self.pending_preview_view),
                name="explainers_explainer_pending_preview",
            ),
            *super().get_urls(),
        ]

    def _check_writing_permission(self, request):
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied

    def preview_view(self, request):
        """The Markdown body as readers will get it (sanitized), for the form's live preview:
        the HTML the public page shows, from the same renderer."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._check_writing_permission(request)
        body = request.POST.get("body", "")
        if len(body) > BODY_MAX_LENGTH:
            return HttpResponse(
                body_length_message(len(body)), status=400, content_type="text/plain"
            )
        return HttpResponse(render_markdown(body))

    def preview_frame_view(self, request):
        """The page the live preview shows the body in: the public page's stylesheet and
        containers around an empty body, which the writing space fills."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        self._check_writing_permission(request)
        return TemplateResponse(request, "admin/explainers/body_preview_frame.html")

    def image_library_view(self, request):
        """The image library, as JSON, for the body's image picker: ``q`` searches the alt
        text, ``page`` pages. Two queries (count, page) whatever the page holds."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        self._check_writing_permission(request)
        if not self.admin_site.get_model_admin(HeroImage).has_view_permission(request):
            raise PermissionDenied
        images = HeroImage.objects.insertable_in_bodies(search=request.GET.get("q", "")[:200])
        page = Paginator(images, IMAGE_LIBRARY_PAGE_SIZE).get_page(request.GET.get("page"))
        return JsonResponse(
            {
                "results": [picker_entry(image) for image in page],
                "count": page.paginator.count,
                "page": page.number,
                "pages": page.paginator.num_pages,
            }
        )

    def warn_about_body_images(self, request, body: str) -> None:
        """Say which of the body's images readers will not see, after a save."""
        html = render_markdown(body)
        found = body_images(html)
        if found.outside:
            messages.warning(
                request,
                "Readers' browsers will not load images from other sites: "
                f"{', '.join(found.outside)}. Upload them to the image library and insert "
                "them with the toolbar's Image button.",
            )
        in_library = set(HeroImage.objects.shown_in(html).values_list("image", flat=True))
        missing = [
            source for source, original in found.renditions.items() if original not in in_library
        ] + found.elsewhere_on_site
        if missing:
            messages.warning(
                request,
                f"Not images of the image library, so readers may not get them: "
                f"{', '.join(missing)}. Insert images with the toolbar's Image button.",
            )

    def restored_content(self, version: Version) -> dict:
        """A revision's content (its pending version's, if it had one) and its series."""
        fields = version.field_dict
        if fields.get("pending"):
            content = dict(fields["pending"])
        else:
            series_ids = [
                item.field_dict["tag_id"]
                for item in version.revision.version_set.filter(
                    content_type=ContentType.objects.get_for_model(SeriesItem)
                )
                if str(item.field_dict.get("content_object_id")) == str(version.object_id)
            ]
            content = {
                field.attname: fields.get(field.attname)
                for field in map(Explainer._meta.get_field, Explainer.CONTENT_FIELDS)
            }
            content["series"] = list(
                Series.objects.filter(pk__in=series_ids).values_list("name", flat=True)
            )
        # Stored by attribute name (category_id); the form's fields are by name.
        for name in ("category", "hero"):
            if f"{name}_id" in content:
                content[name] = content.pop(f"{name}_id")
        return content

    def pending_preview_view(self, request, object_id):
        """The public page as it will be once the working copy is published."""
        explainer = self._object_or_404(request, object_id)
        return PendingPreviewView.as_view()(request, pk=explainer.pk)

    def workflow_buttons(self, request, explainer) -> list[tuple[str, str]]:
        """The workflow steps this user may take on this explainer, as (name, label)."""
        if explainer is None:
            return [("_submit_for_review", WORKFLOW_BUTTONS["_submit_for_review"])]
        if not self.has_change_permission(request, explainer):
            return []
        names = []
        if explainer.review != State.IN_REVIEW:
            names.append("_submit_for_review")
        if can_publish(request.user):
            if explainer.is_live():
                names.append("_publish_changes")
            if explainer.review == State.IN_REVIEW:
                names += ["_approve", "_request_changes"]
        return [(name, WORKFLOW_BUTTONS[name]) for name in names]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(
            workflow_buttons=self.workflow_buttons(request, obj),
            reviewing=obj is not None
            and obj.review == State.IN_REVIEW
            and can_publish(request.user),
            pending_preview_url=reverse("admin:explainers_explainer_pending_preview", args=[obj.pk])
            if obj
            else "",
            **self.health_context(request, context["adminform"].form, obj),
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def health_context(self, request, form, obj) -> dict:
        """The publish step's checks for the form (includes/health.html): what a submission
        that publishes found, or else what the working copy would show readers."""
        problems = form.health_problems
        if problems is None and obj is not None:
            # The stored HTML is the row's body's; a pending body is rendered to be checked.
            body_html = obj.body_html if obj.pending is None else None
            problems = content_problems(obj.content([]), body_html=body_html)
        if form.health_refusal:
            messages.error(request, form.health_refusal)
        return {
            "health_problems": problems,
            "health_warnings": " ".join(warning_codes(problems or [])),
            "health_acknowledge": can_publish(request.user),
        }

    def save_model(self, request, obj, form, change):
        step = next((name for name in WORKFLOW_BUTTONS if name in request.POST), None)
        if step and (step, WORKFLOW_BUTTONS[step]) not in self.workflow_buttons(
            request, obj if change else None
        ):
            raise PermissionDenied
        series = form.cleaned_data["series"] if "series" in form.fields else None
        notes = [
            explainer_save(
                explainer=obj,
                series=series,
                user=request.user,
                acknowledged=form.acknowledged_warnings,
            )
        ]
        if step in ("_publish_changes", "_approve"):
            notes = []  # the save's "kept as pending" is undone by the step itself
        try:
            notes.append(self._take_step(request, obj, step, form))
        except ValidationError as refusal:
            # The edits are saved; the step is not taken, and the editor is told why.
            messages.error(request, f"Saved, but {' '.join(refusal.messages)}")
        obj.refresh_from_db()
        request.history_notes = [note for note in notes if note]
        for note in request.history_notes:
            messages.info(request, note)
        if "body" in form.cleaned_data:
            self.warn_about_body_images(request, form.cleaned_data["body"])
        self.after_save(request, obj, form)

    def _take_step(self, request, explainer, step, form) -> str:
        """The workflow step a button asked for, after the save; returns what happened."""
        if step == "_submit_for_review":
            return explainer_submit(explainer=explainer, user=request.user)
        acknowledged = form.acknowledged_warnings
        if step == "_publish_changes":
            return explainer_publish_changes(
                explainer=explainer, user=request.user, acknowledged=acknowledged
            )
        if step == "_approve":
            return explainer_approve(
                explainer=explainer, user=request.user, acknowledged=acknowledged
            )
        if step == "_request_changes":
            return explainer_request_changes(
                explainer=explainer, user=request.user, comment=form.cleaned_data["review_note"]
            )
        return ""

    def save_related(self, request, form, formsets, change):
        # Series are saved by services.publishing (into the pending version when live).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def response_change(self, request, obj):
        if any(name in request.POST for name in WORKFLOW_BUTTONS):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        if "_submit_for_review" in request.POST:
            return HttpResponseRedirect(reverse("admin:explainers_explainer_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)

    def recover_view(self, request, version_id, extra_context=None):
        """Bring a deleted explainer back as a draft (never straight to readers)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        version = get_object_or_404(Version.objects.get_deleted(self.model), pk=version_id)
        if request.method == "POST":
            explainer = explainer_recover(version=version, user=request.user)
            self.message_user(request, f"Recovered “{explainer}” as a draft.", messages.SUCCESS)
            return HttpResponseRedirect(explainer.get_admin_url())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Recover “{version.object_repr}”",
            "version": version,
        }
        return TemplateResponse(request, "admin/explainers/recover_confirm.html", context)

    @admin.display(description="Image")
    def hero_thumbnail(self, explainer):
        return thumbnail(explainer.hero)

    @admin.display(description="Series")
    def series_names(self, explainer):
        return ", ".join(series.name for series in explainer.series.all())

    @admin.display(description="State")
    def state(self, explainer):
        # The version the list showed, so that an action on a stale list changes nothing.
        return format_html(
            '{}<input type="hidden" name="loaded_version" value="{}:{}">',
            explainer.workflow_label,
            explainer.pk,
            explainer.version,
        )

    @admin.action(permissions=["publish"], description="Publish the selected explainers")
    def publish_selected(self, request, queryset):
        # Warnings are listed on a confirmation page first, to be acknowledged there; the
        # codes of those it listed come back as "id:code" (as ExplainerAdminForm has them).
        acknowledged = {}
        if request.POST.get("acknowledge_warnings"):
            for value in request.POST.getlist("shown_warnings"):
                pk, _, code = value.partition(":")
                if pk.isdigit():
                    acknowledged.setdefault(int(pk), set()).add(code)
        loaded, drafts = self._loaded_versions(request), queryset.drafts()
        # Drafts changed since the list was loaded are left alone, whatever they hold.
        versions = drafts.values_list("pk", "version")
        stale = [pk for pk, now in versions if loaded.get(pk, now) != now]
        problems = problems_by_explainer(drafts.exclude(pk__in=stale))
        if any(
            blocking(found, acknowledged.get(pk, ()))
            and not any(problem.is_error for problem in found)
            for pk, found in problems.items()
        ):
            return self.publish_confirmation(request, queryset, problems)
        publish = partial(explainers_publish, acknowledged=acknowledged)
        self._bulk(request, queryset, publish, "Published")

    def publish_confirmation(self, request, queryset, problems):
        """The problems of the selected drafts, and a box to tick: "I have read these
        warnings". Submitting it runs the action again, with the same selection."""
        # In the list's order (the problems come in whatever order the database read them).
        titles = dict(queryset.drafts().values_list("pk", "title"))
        review = [
            {
                "title": title,
                "problems": problems[pk],
                "held": any(problem.is_error for problem in problems[pk]),
            }
            for pk, title in titles.items()
            if problems.get(pk)
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Publish the selected explainers?",
            "review": review,
            "clean": len(problems) - len(review),
            "shown_warnings": [
                f"{pk}:{code}"
                for pk, found in problems.items()
                if not any(problem.is_error for problem in found)
                for code in warning_codes(found)
            ],
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "loaded_versions": request.POST.getlist("loaded_version"),
        }
        return TemplateResponse(request, "admin/explainers/publish_confirm.html", context)

    @admin.action(permissions=["publish"], description="Unpublish the selected explainers")
    def unpublish_selected(self, request, queryset):
        self._bulk(request, queryset, explainers_unpublish, "Unpublished")

    def _loaded_versions(self, request) -> dict[int, int]:
        loaded = {}
        for value in request.POST.getlist("loaded_version"):
            pk, _, version = value.partition(":")
            if pk.isdigit() and version.isdigit():
                loaded[int(pk)] = int(version)
        return loaded

    def _bulk(self, request, queryset, service, verb):
        loaded = self._loaded_versions(request)
        result = service(explainers=queryset, user=request.user, loaded_versions=loaded)
        for explainer in Explainer.objects.filter(pk__in=result.changed):
            reversion.add_to_revision(explainer)
        if reversion.is_active():
            reversion.set_comment(" ".join([f"{verb} from the explainer list.", *result.notes]))
        count = len(result.changed)
        self.message_user(
            request, f"{verb} {count} explainer{'s' if count != 1 else ''}.", messages.SUCCESS
        )
        if result.stale:
            self.message_user(
                request,
                f"Left alone, because they changed after this list was loaded: "
                f"{'; '.join(result.stale)}. Check them and try again.",
                messages.WARNING,
            )
        if result.refused:
            self.message_user(
                request,
                f"Not published, because of what the content checks found: "
                f"{'; '.join(result.refused)}.",
                messages.ERROR,
            )
