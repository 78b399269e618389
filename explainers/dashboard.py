"""The admin's index page: what needs each editor's attention, in a few short lists."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from .health import health_report
from .models import Explainer, State
from .services.publishing import can_publish

PANEL_LENGTH = 8


@dataclass
class Panel:
    title: str
    explainers: list[Explainer]
    empty: str
    more_url: str


class EditorialAdminSite(admin.AdminSite):
    site_header = settings.SITE_NAME
    site_title = f"{settings.SITE_NAME} admin"
    index_title = "Editorial dashboard"
    index_template = "admin/editorial_dashboard.html"

    def index(self, request, extra_context=None):
        context = {"dashboard": editorial_dashboard(request.user), **(extra_context or {})}
        return super().index(request, context)

    def get_urls(self):
        return [
            path("health/", self.admin_view(self.health_view), name="content_health"),
            *super().get_urls(),
        ]

    def health_view(self, request):
        """The content health report (explainers.health): every check's count, linked to
        the change list that shows those explainers or images. Staff who may view
        explainers only."""
        if not request.user.has_perm("explainers.view_explainer"):
            raise PermissionDenied
        report = health_report()
        for row in report.rows:
            if not request.user.has_perm(f"explainers.view_{row.model._meta.model_name}"):
                row.url = ""
        context = {**self.each_context(request), "title": "Content health", "report": report}
        return TemplateResponse(request, "admin/explainers/health_report.html", context)


def editorial_dashboard(user) -> list[Panel]:
    """The panels ``user`` sees, own work first for contributors; one query per panel."""
    if not user.has_perm("explainers.view_explainer"):
        return []
    changelist = reverse("admin:explainers_explainer_changelist")
    explainers = (
        Explainer.objects.select_related("category", "owner", "review_comment_by")
        .defer("body", "body_html")
        .order_by()
    )
    now = timezone.now()
    mine = Q(owner=user) | Q(submitted_by=user)
    reviewing = Panel(
        "Awaiting your review",
        _first(explainers.in_review().exclude(submitted_by=user), "review_updated_at"),
        "Nothing waits for review.",
        f"{changelist}?state={State.IN_REVIEW}&owner=everyone",
    )
    sent_back = Panel(
        "Changes requested on your explainers",
        _first(explainers.changes_requested().filter(mine), "-review_updated_at"),
        "No changes requested on your work.",
        f"{changelist}?state={State.CHANGES_REQUESTED}&owner=mine",
    )
    drafts = Panel(
        "Your drafts",
        _first(explainers.drafts().owned_by(user), "-updated_at"),
        "You have no drafts.",
        f"{changelist}?state={State.DRAFT}&owner=mine",
    )
    scheduled = Panel(
        "Scheduled in the next 7 days",
        _first(
            explainers.scheduled().filter(published_at__lte=now + timedelta(days=7)), "published_at"
        ),
        "Nothing is scheduled for the next 7 days.",
        f"{changelist}?state={State.SCHEDULED}&owner=everyone",
    )
    recent = Panel(
        "Recently published",
        _first(explainers.published(), "-published_at"),
        "Nothing is published yet.",
        f"{changelist}?state={State.PUBLISHED}&owner=everyone",
    )
    if can_publish(user):
        return [reviewing, sent_back, drafts, scheduled, recent]
    return [sent_back, drafts, scheduled, recent]


def _first(explainers: QuerySet[Explainer], order: str) -> list[Explainer]:
    return list(explainers.order_by(order, "pk")[:PANEL_LENGTH])
