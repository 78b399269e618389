import reversion
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from reversion.models import Version
from reversion_compare.admin import CompareVersionAdmin

from .forms import CategoryAdminForm, ExplainerAdminForm, HeroImageAdminForm, SeriesAdminForm
from .markup import BODY_MAX_LENGTH, body_length_message, render_markdown
from .models import Category, Explainer, HeroImage, Series, SeriesItem, State
from .services.editing import (
    presence_leave,
    presence_touch,
    revision_record,
    scratch_copy_discard,
    scratch_copy_for,
    scratch_copy_save,
)
from .services.ordering import listing_move
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


class ListingOrderMixin:
    """Up/down buttons that move an item among its siblings (see services.ordering).

    Each button carries the version of the item the page showed: a move made from a page
    older than someone else's change is refused.
    """

    def has_reorder_permission(self, request, obj):
        return self.has_change_permission(request, obj)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/move/<str:direction>/",
                self.admin_site.admin_view(self.move_view),
                name="{}_{}_move".format(*info),
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Order")
    def order_buttons(self, obj):
        # The buttons submit the changelist's own form (and so its CSRF token) to the move URL.
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_move"
        return format_html_join(
            "",
            '<button type="submit" class="order-button" formmethod="post" formaction="{}" '
            'title="Move {}" aria-label="Move “{}” {}">{}</button>',
            (
                (
                    f"{reverse(name, args=[obj.pk, direction])}?version={obj.version}",
                    direction,
                    obj,
                    direction,
                    arrow,
                )
                for direction, arrow in (("up", "▲"), ("down", "▼"))
            ),
        )

    def move_view(self, request, object_id, direction):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if direction not in ("up", "down"):
            raise Http404("Moves go up or down.")
        item = get_object_or_404(self.model, pk=object_id)
        if not self.has_reorder_permission(request, item):
            raise PermissionDenied
        loaded = request.GET.get("version", "")
        if not loaded.isdigit():
            return HttpResponse("The move names no version of the item.", status=400)
        try:
            with transaction.atomic():
                moved = listing_move(
                    item=item,
                    offset=-1 if direction == "up" else 1,
                    loaded_version=int(loaded),
                    user=request.user,
                )
                if moved:
                    item.refresh_from_db()
                    revision_record(
                        record=item,
                        user=request.user,
                        comment=f"Moved {direction} (now at position {item.position + 1}).",
                    )
        except ValidationError as refusal:
            self.message_user(request, " ".join(refusal.messages), messages.ERROR)
        else:
            if moved:
                self.message_user(request, f"Moved “{item}” {direction}.", messages.SUCCESS)
        back = request.META.get("HTTP_REFERER", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        return HttpResponseRedirect(back)


@admin.register(Category)
class CategoryAdmin(EditorialSafetyMixin, ListingOrderMixin, CompareVersionAdmin):
    form = CategoryAdminForm
    restorable_fields = ["name", "slug", "description"]
    list_display = ["indented_name", "parent", "explainer_count", "position", "order_buttons"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "path"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "parent", "description", "position", "path"]
    readonly_fields = ["path"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("parent")
            .annotate(explainer_total=Count("explainers"))
            .order_by(F("parent__path").asc(nulls_first=True), "position", "name")
        )

    @admin.display(description="Name", ordering="path")
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
        return (
            super().get_queryset(request).annotate(explainer_total=Count("items")).order_by("name")
        )

    @admin.display(description="Explainers", ordering="explainer_total")
    def explainer_count(self, series):
        return series.explainer_total


def thumbnail(hero):
    if hero is None:
        return "—"
    return format_html(
        '<img src="{}" width="96" height="{}" alt="" class="admin-thumbnail">',
        hero.rendition(400).url,
        round(96 * hero.height / hero.width),
    )


@admin.register(HeroImage)
class HeroImageAdmin(EditorialSafetyMixin, CompareVersionAdmin):
    form = HeroImageAdminForm
    restorable_fields = ["alt_text", "caption", "credit"]
    list_display = ["preview_thumbnail", "alt_text", "dimensions", "is_placeholder", "usage"]
    list_filter = ["is_placeholder"]
    search_fields = ["alt_text", "caption", "credit", "image"]
    readonly_fields = [
        "preview",
        "original_filename",
        "dimensions",
        "rendition_sizes",
        "is_placeholder",
        "used_by",
    ]
    fieldsets = [
        (None, {"fields": ["image", "preview", "alt_text", "caption", "credit"]}),
        (
            "About the file",
            {"fields": ["original_filename", "dimensions", "rendition_sizes", "is_placeholder"]},
        ),
        ("Where it is used", {"fields": ["used_by"]}),
    ]

    def get_queryset(self, request):
        # Annotating drops the model's ordering; the autocomplete pages need a stable one.
        return (
            super()
            .get_queryset(request)
            .annotate(usage_total=Count("explainers"))
            .order_by("-created_at", "pk")
        )

    def has_change_permission(self, request, obj=None):
        # What readers see (or will, once scheduled) is editors' to change: a contributor
        # uploads a new image and proposes it in a pending version instead.
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed or can_publish(request.user):
            return allowed
        return not HeroImage.objects.used_by_live().filter(pk=obj.pk).exists()

    @admin.display(description="Image")
    def preview_thumbnail(self, hero):
        return thumbnail(hero)

    @admin.display(description="Preview")
    def preview(self, hero):
        if not hero.pk:
            return "Shown here once the image is saved."
        rendition = hero.rendition(800)
        return format_html(
            '<img src="{}" width="{}" height="{}" alt="{}" class="admin-preview">',
            rendition.url,
            rendition.width,
            rendition.height,
            hero.alt_text,
        )

    @admin.display(description="Size")
    def dimensions(self, hero):
        return f"{hero.width} × {hero.height} px" if hero.pk else "—"

    @admin.display(description="Sizes served to readers")
    def rendition_sizes(self, hero):
        if not hero.pk:
            return "—"
        return ", ".join(f"{r.width} × {r.height}" for r in hero.renditions("jpg")) + (
            " (WebP, with JPEG for older browsers)"
        )

    @admin.display(description="Used by", ordering="usage_total")
    def usage(self, hero):
        return hero.usage_total

    @admin.display(description="Explainers using it")
    def used_by(self, hero):
        explainers = list(hero.explainers.all()) if hero.pk else []
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


# The body's HTML is not content but derived from the body (Explainer.save renders it): a
# revision does not keep it, and a revert that writes "" is followed by a save.
reversion.register(Explainer, follow=["seriesitem_set"], exclude=["body_html"])


@admin.register(Explainer)
class ExplainerAdmin(EditorialSafetyMixin, ListingOrderMixin, CompareVersionAdmin):
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
        "order_buttons",
    ]
    list_display_links = ["hero_thumbnail", "title"]
    list_filter = [OwnerFilter, StateFilter, "category", "series", PlaceholderHeroFilter]
    search_fields = ["title", "excerpt", "body"]
    date_hierarchy = "published_at"
    list_per_page = 50
    ordering = ["category__path", "position", "pk"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["category", "hero"]
    actions = ["publish_selected", "unpublish_selected"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "category", "series", "excerpt", "body"]}),
        ("Image", {"fields": ["hero"]}),
        ("Publishing", {"fields": ["status", "published_at", "reading_time", "position"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("category", "hero", "owner", "changed_by")
            .prefetch_related("series")
        )

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

    def has_reorder_permission(self, request, obj):
        return can_publish(request.user)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not can_publish(request.user):
            readonly += ["status", "published_at", "position"]
        return readonly

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        if not can_publish(request.user):
            shown.remove("order_buttons")
        return shown

    def get_urls(self):
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="explainers_explainer_preview",
            ),
            path(
                "<path:object_id>/pending/",
                self.admin_site.admin_view(self.pending_preview_view),
                name="explainers_explainer_pending_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """The Markdown body as readers will get it (sanitized), for the form's preview."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        body = request.POST.get("body", "")
        if len(body) > BODY_MAX_LENGTH:
            return HttpResponse(
                body_length_message(len(body)), status=400, content_type="text/plain"
            )
        return HttpResponse(render_markdown(body))

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
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        step = next((name for name in WORKFLOW_BUTTONS if name in request.POST), None)
        if step and (step, WORKFLOW_BUTTONS[step]) not in self.workflow_buttons(
            request, obj if change else None
        ):
            raise PermissionDenied
        series = form.cleaned_data["series"] if "series" in form.fields else None
        notes = [explainer_save(explainer=obj, series=series, user=request.user)]
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
        self.after_save(request, obj, form)

    def _take_step(self, request, explainer, step, form) -> str:
        """The workflow step a button asked for, after the save; returns what happened."""
        if step == "_submit_for_review":
            return explainer_submit(explainer=explainer, user=request.user)
        if step == "_publish_changes":
            return explainer_publish_changes(explainer=explainer, user=request.user)
        if step == "_approve":
            return explainer_approve(explainer=explainer, user=request.user)
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
        self._bulk(request, queryset, explainers_publish, "Published")

    @admin.action(permissions=["publish"], description="Unpublish the selected explainers")
    def unpublish_selected(self, request, queryset):
        self._bulk(request, queryset, explainers_unpublish, "Unpublished")

    def _bulk(self, request, queryset, service, verb):
        loaded = {}
        for value in request.POST.getlist("loaded_version"):
            pk, _, version = value.partition(":")
            if pk.isdigit() and version.isdigit():
                loaded[int(pk)] = int(version)
        result = service(explainers=queryset, user=request.user, loaded_versions=loaded)
        for explainer in Explainer.objects.filter(pk__in=result.changed):
            reversion.add_to_revision(explainer)
        if reversion.is_active():
            reversion.set_comment(f"{verb} from the explainer list.")
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
