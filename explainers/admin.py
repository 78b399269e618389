import reversion
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from reversion_compare.admin import CompareVersionAdmin

from .forms import ExplainerAdminForm, HeroImageAdminForm
from .markup import render_markdown
from .models import Category, Explainer, HeroImage, Series, SeriesItem
from .services import explainers_publish, explainers_unpublish, listing_move

admin.site.site_header = "AI Explainers"
admin.site.site_title = "AI Explainers admin"
admin.site.index_title = "Run the site"

reversion.register(SeriesItem)
# Revisions of an explainer carry its series, so a restore brings them back too.
reversion.register(Explainer, follow=["seriesitem_set"])


class ListingOrderMixin:
    """Up/down buttons that move an item among its siblings (see services.listing_move)."""

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
                (reverse(name, args=[obj.pk, direction]), direction, obj, direction, arrow)
                for direction, arrow in (("up", "▲"), ("down", "▼"))
            ),
        )

    def move_view(self, request, object_id, direction):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if direction not in ("up", "down"):
            raise Http404("Moves go up or down.")
        item = get_object_or_404(self.model, pk=object_id)
        if not self.has_change_permission(request, item):
            raise PermissionDenied
        if listing_move(item=item, offset=-1 if direction == "up" else 1):
            self.message_user(request, f"Moved “{item}” {direction}.", messages.SUCCESS)
        back = request.META.get("HTTP_REFERER", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        return HttpResponseRedirect(back)


@admin.register(Category)
class CategoryAdmin(ListingOrderMixin, admin.ModelAdmin):
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
class SeriesAdmin(admin.ModelAdmin):
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
class HeroImageAdmin(admin.ModelAdmin):
    form = HeroImageAdminForm
    list_display = ["preview_thumbnail", "alt_text", "dimensions", "is_placeholder", "usage"]
    list_filter = ["is_placeholder"]
    search_fields = ["alt_text", "caption", "credit", "image"]
    readonly_fields = ["preview", "dimensions", "rendition_sizes", "is_placeholder", "used_by"]
    fieldsets = [
        (None, {"fields": ["image", "preview", "alt_text", "caption", "credit"]}),
        ("About the file", {"fields": ["dimensions", "rendition_sizes", "is_placeholder"]}),
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
    title = "status"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("draft", "Draft"), ("scheduled", "Scheduled"), ("published", "Published")]

    def queryset(self, request, queryset):
        published = Explainer.objects.published()
        if self.value() == "published":
            return queryset.filter(pk__in=published.values("pk"))
        if self.value() == "scheduled":
            return queryset.filter(
                status=Explainer.Status.PUBLISHED, published_at__isnull=False
            ).exclude(pk__in=published.values("pk"))
        if self.value() == "draft":
            return queryset.exclude(status=Explainer.Status.PUBLISHED, published_at__isnull=False)
        return queryset


@admin.register(Explainer)
class ExplainerAdmin(ListingOrderMixin, CompareVersionAdmin):
    form = ExplainerAdminForm
    list_display = [
        "hero_thumbnail",
        "title",
        "category",
        "series_names",
        "state",
        "reading_time",
        "published_at",
        "updated_at",
        "order_buttons",
    ]
    list_display_links = ["hero_thumbnail", "title"]
    list_filter = ["category", "series", StateFilter, PlaceholderHeroFilter]
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
            .select_related("category", "hero")
            .prefetch_related("series")
        )

    def has_publish_permission(self, request):
        return request.user.has_perm("explainers.publish_explainer")

    def has_change_permission(self, request, obj=None):
        # Without the right to publish, what readers see is out of reach: only drafts change.
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed or self.has_publish_permission(request):
            return allowed
        return obj.state == "Draft"

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not self.has_publish_permission(request):
            readonly += ["status", "published_at"]
        return readonly

    def get_urls(self):
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="explainers_explainer_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """The Markdown body as readers will get it (sanitized), for the form's preview."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        return HttpResponse(render_markdown(request.POST.get("body", "")))

    @admin.display(description="Image")
    def hero_thumbnail(self, explainer):
        return thumbnail(explainer.hero)

    @admin.display(description="Series")
    def series_names(self, explainer):
        return ", ".join(series.name for series in explainer.series.all())

    @admin.display(description="Status")
    def state(self, explainer):
        return explainer.state

    @admin.action(permissions=["publish"], description="Publish the selected explainers")
    def publish_selected(self, request, queryset):
        self._record_action(request, explainers_publish(explainers=queryset), "Published")

    @admin.action(permissions=["publish"], description="Unpublish the selected explainers")
    def unpublish_selected(self, request, queryset):
        self._record_action(request, explainers_unpublish(explainers=queryset), "Unpublished")

    def _record_action(self, request, changed_ids, verb):
        changed = list(Explainer.objects.filter(pk__in=changed_ids))
        with reversion.create_revision():
            reversion.set_user(request.user)
            reversion.set_comment(f"{verb} from the explainer list.")
            for explainer in changed:
                reversion.add_to_revision(explainer)
        self.message_user(
            request,
            f"{verb} {len(changed)} explainer{'s' if len(changed) != 1 else ''}.",
            messages.SUCCESS,
        )
