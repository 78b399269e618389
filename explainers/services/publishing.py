"""What readers see, and how a change gets there: saves, pending versions, publishing, review.

Readers see the row of a live (published or scheduled) explainer. Edits to it are kept as its
pending version until an editor publishes or approves them. Every step is a revision, so
History says who did what and when; every step that changes what readers see bumps the page
cache's content version (cache.content_changed).
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.serializers.base import DeserializationError
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format

from ..cache import content_changed
from ..health import (
    acknowledgement_note,
    blocking,
    content_problems,
    problems_by_explainer,
    publish_refusal,
)
from ..models import Explainer, State
from .counts import live_counts_refresh_for
from .editing import record_saved, revision_record, saved_by
from .search_index import search_index_refresh

PUBLISH_PERMISSION = "explainers.publish_explainer"
EDITORS_GROUP = "Editors"


def can_publish(user) -> bool:
    """Editors and superusers: publish, unpublish, schedule, approve, reorder."""
    return user.has_perm(PUBLISH_PERMISSION)


def explainer_save(
    *, explainer: Explainer, series: list[str] | None, user, acknowledged: Collection[str] = ()
) -> str:
    """Save an explainer as an admin form left it; say what happened, for History.

    A draft is saved as it is. A live explainer keeps its row (what readers see) and saves the
    content as its pending version; its publication fields (status and time, which only
    editors' forms carry) change the row at once. Its position is not the form's to write
    (services.ordering moves it; a new explainer goes to the end of its category). A draft
    that the save publishes or schedules passes the health checks first (``acknowledged``:
    see _refuse_unhealthy).
    """
    with transaction.atomic():
        if explainer.pk is None:
            note = ""
            if explainer.is_live():
                note = _refuse_unhealthy(explainer.content(series or []), acknowledged)
            explainer.owner = user
            record_saved(record=explainer, user=user)
            explainer.save()
            explainer.series.set(series or [])
            return note
        row = Explainer.objects.select_for_update().get(pk=explainer.pk)
        content = explainer.content(series if series is not None else row.working_series())
        if not explainer.is_live():
            _write_content(row, content)
            _copy_publication_fields(explainer, row)
            row.pending = row.pending_by = row.pending_at = None
            record_saved(record=row, user=user)
            row.save()
            note = ""
        else:
            # A draft this save publishes or schedules: readers get its row as it is.
            checked = (
                ""
                if row.is_live()
                else _refuse_unhealthy(row.content([]), acknowledged, body_html=row.body_html)
            )
            _copy_publication_fields(explainer, row)
            if content == row.content():
                row.pending = row.pending_by = row.pending_at = None
                note = ""
            else:
                row.pending, row.pending_by, row.pending_at = content, user, timezone.now()
                note = "Saved as pending changes: readers still see the published version."
            note = " ".join(filter(None, [note, checked]))
            record_saved(record=row, user=user)
            row.save()
        explainer.refresh_from_db()
    return note


def _refuse_unhealthy(
    content: dict, acknowledged: Collection[str], *, body_html: str | None = None
) -> str:
    """Refuse (ValidationError) to publish ``content`` with an error-level problem, or with a
    warning whose code is not among those the editor was shown and ``acknowledged``
    (explainers.health). Returns what History keeps about the warnings acknowledged."""
    problems = content_problems(content, body_html=body_html)
    refusal = publish_refusal(problems, acknowledged)
    if refusal:
        raise ValidationError(refusal)
    return acknowledgement_note(problems)


def _copy_publication_fields(source: Explainer, row: Explainer) -> None:
    for name in ("status", "published_at"):
        setattr(row, name, getattr(source, name))


def _write_content(row: Explainer, content: dict) -> None:
    for name, value in content.items():
        if name != "series":
            setattr(row, name, value)
    row.series.set(content["series"])


def explainer_publish_changes(
    *, explainer: Explainer, user, acknowledged: Collection[str] = ()
) -> str:
    """Make a live explainer's pending version what readers see; returns what happened.
    The version passes the health checks first (``acknowledged``: see _refuse_unhealthy)."""
    with transaction.atomic():
        row = Explainer.objects.select_for_update().get(pk=explainer.pk)
        if not can_publish(user):
            raise PermissionDenied("Only editors publish changes.")
        if row.pending is None:
            return "There were no pending changes to publish."
        note = _refuse_unhealthy(row.pending, acknowledged)
        _apply_pending(row, user)
        row.review = ""
        row.save()
        content_changed()
        comment = " ".join(filter(None, ["Published the pending changes.", note]))
        revision_record(record=row, user=user, comment=comment)
    return comment


def _apply_pending(row: Explainer, user) -> None:
    _write_content(row, row.pending)
    row.pending = row.pending_by = row.pending_at = None
    record_saved(record=row, user=user)


# The review workflow


def explainer_submit(*, explainer: Explainer, user) -> str:
    """Hand a draft, or a live explainer's pending version, to the editors."""
    with transaction.atomic():
        row = Explainer.objects.select_for_update().get(pk=explainer.pk)
        if row.review == State.IN_REVIEW:
            raise ValidationError("This explainer is already waiting for review.")
        if row.is_live() and row.pending is None:
            raise ValidationError(
                "Readers already see this version: change something, then submit it."
            )
        row.review, row.submitted_by = State.IN_REVIEW, user
        row.review_updated_at = timezone.now()
        record_saved(record=row, user=user)
        row.save()
        comment = "Submitted for review."
        revision_record(record=row, user=user, comment=comment)
        _notify_editors(row, user)
    return comment


def explainer_approve(*, explainer: Explainer, user, acknowledged: Collection[str] = ()) -> str:
    """Approve what is in review: publish it now, or on its publication time if that is to
    come (scheduled). Returns what happened, as History says it. What is approved passes the
    health checks first (``acknowledged``: see _refuse_unhealthy)."""
    with transaction.atomic():
        row = Explainer.objects.select_for_update().get(pk=explainer.pk)
        if not can_publish(user):
            raise PermissionDenied("Only editors approve.")
        if row.pending is not None:
            note = _refuse_unhealthy(row.pending, acknowledged)
        else:
            note = _refuse_unhealthy(row.content([]), acknowledged, body_html=row.body_html)
        if row.pending is not None:
            _apply_pending(row, user)
        else:
            record_saved(record=row, user=user)
        row.status = Explainer.Status.PUBLISHED
        row.published_at = row.published_at or timezone.now()
        row.review, row.review_comment, row.review_comment_by = "", "", None
        row.review_updated_at = timezone.now()
        row.save()
        content_changed()
        state = row.state
        when = date_format(timezone.localtime(row.published_at), "j M Y, H:i")
        comment = (
            "Approved and published."
            if state == State.PUBLISHED
            else f"Approved and scheduled for {when}."
        )
        comment = " ".join(filter(None, [comment, note]))
        revision_record(record=row, user=user, comment=comment)
        _notify_author(row, user, "emails/review_approved.txt", state=state, when=when)
    return comment


def explainer_request_changes(*, explainer: Explainer, user, comment: str) -> str:
    """Send the work back to its author with what to change; readers' side is untouched."""
    comment = comment.strip()
    if not comment:
        raise ValidationError("Say what should change: the comment is what the author reads.")
    with transaction.atomic():
        row = Explainer.objects.select_for_update().get(pk=explainer.pk)
        if not can_publish(user):
            raise PermissionDenied("Only editors request changes.")
        if row.review != State.IN_REVIEW:
            raise ValidationError("Only explainers in review can be sent back.")
        row.review, row.review_comment, row.review_comment_by = (
            State.CHANGES_REQUESTED,
            comment,
            user,
        )
        row.review_updated_at = timezone.now()
        record_saved(record=row, user=user)
        row.save()
        note = f"Changes requested: {comment}"
        revision_record(record=row, user=user, comment=note)
        _notify_author(row, user, "emails/review_changes_requested.txt", comment=comment)
    return note


def _notify_editors(explainer: Explainer, submitter) -> None:
    editors = (
        get_user_model()
        .objects.filter(groups__name=EDITORS_GROUP, is_active=True)
        .exclude(pk=submitter.pk)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    _send_after_commit(
        "emails/review_submitted.txt",
        sorted(set(editors)),
        explainer=explainer,
        actor=submitter,
    )


def _notify_author(explainer: Explainer, actor, template: str, **context) -> None:
    author = explainer.submitted_by or explainer.owner
    if author is None or not author.email or author == actor:
        return
    _send_after_commit(template, [author.email], explainer=explainer, actor=actor, **context)


def _send_after_commit(template: str, recipients: list[str], **context) -> None:
    if not recipients:
        return
    context["admin_url"] = settings.SITE_URL + context["explainer"].get_admin_url()
    subject, _, body = render_to_string(template, context).strip().partition("\n")
    # After the commit: a mail server that is down must not undo the step itself.
    transaction.on_commit(
        lambda: send_mail(subject.strip(), body.strip() + "\n", None, recipients), robust=True
    )


# Publishing from the explainer list


@dataclass
class BulkResult:
    changed: list[int] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    # Left alone by the health checks, each with why; and the warnings acknowledged.
    refused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def explainers_publish(
    *,
    explainers: QuerySet[Explainer],
    user,
    loaded_versions: dict[int, int] | None = None,
    acknowledged: Mapping[int, Collection[str]] | None = None,
) -> BulkResult:
    """Publish: now for those without a publication time, on schedule for the others.

    Rows changed since the list was loaded (``loaded_versions``: id → version) are left
    alone and named in ``stale``; so are those the health checks hold back (an error, or a
    warning not among the codes ``acknowledged`` for that id), named in ``refused``.
    """
    now = Value(timezone.now(), output_field=DateTimeField())
    return _bulk_change(
        explainers.drafts(),
        user,
        loaded_versions,
        admit=lambda result: _hold_back_unhealthy(result, acknowledged or {}),
        status=Explainer.Status.PUBLISHED,
        published_at=Coalesce("published_at", now),
        review="",
    )


def explainers_unpublish(
    *, explainers: QuerySet[Explainer], user, loaded_versions: dict[int, int] | None = None
) -> BulkResult:
    """Back to draft: readers no longer see them. A pending version becomes the draft."""
    return _bulk_change(explainers.live(), user, loaded_versions, status=Explainer.Status.DRAFT)


def _bulk_change(explainers, user, loaded_versions, admit=None, **changes) -> BulkResult:
    with transaction.atomic():
        result = _fresh_rows(explainers, loaded_versions)
        if admit is not None:
            admit(result)
        rows = Explainer.objects.filter(pk__in=result.changed)
        for row in rows.filter(pending__isnull=False):
            # Only live explainers have pending versions; going back to draft folds it in.
            _apply_pending(row, user)
            row.save()
        rows.update(
            **changes,
            updated_at=timezone.now(),
            version=F("version") + 1,
            changed_by=user,
        )
        # An update() sends no signal: site search counts (or stops counting) their words,
        # and the categories and series they are in count them (or stop) too.
        search_index_refresh(explainer_ids=result.changed)
        live_counts_refresh_for(explainer_ids=result.changed)
        content_changed()
    return result


def _hold_back_unhealthy(result: BulkResult, acknowledged: Mapping[int, Collection[str]]) -> None:
    """Take out of ``result.changed`` what publishing one by one would refuse; in a fixed
    number of queries, however many are selected."""
    problems = problems_by_explainer(Explainer.objects.filter(pk__in=result.changed))
    titles = dict(Explainer.objects.filter(pk__in=result.changed).values_list("pk", "title"))
    for pk in list(result.changed):
        holding = blocking(problems[pk], acknowledged.get(pk, ()))
        if holding:
            result.changed.remove(pk)
            result.refused.append(f"“{titles[pk]}” ({'; '.join(map(str, holding))})")
        elif note := acknowledgement_note(problems[pk]):
            result.notes.append(f"“{titles[pk]}”: {note}")


def _fresh_rows(explainers: QuerySet[Explainer], loaded_versions) -> BulkResult:
    result = BulkResult()
    for row in (
        explainers.select_for_update(of=("self",))
        .select_related("changed_by")
        .defer("body", "body_html")
    ):
        loaded = (loaded_versions or {}).get(row.pk)
        if loaded is not None and loaded != row.version:
            result.stale.append(f"“{row.title}” ({saved_by(row)})")
        else:
            result.changed.append(row.pk)
    return result


def explainer_recover(*, version, user) -> Explainer:
    """Bring a deleted explainer back from its last revision, as a draft at the end of its
    category (readers see it only once an editor publishes it again)."""
    series_versions = [
        item
        for item in version.revision.version_set.filter(
            content_type__app_label="explainers", content_type__model="seriesitem"
        )
        if str(item.field_dict.get("content_object_id")) == str(version.object_id)
    ]
    try:
        with transaction.atomic():
            version.revert()
            for item in series_versions:
                item.revert()
            row = Explainer.objects.select_for_update().get(pk=version.object_id)
            row.position = None  # saved at the end of its category (Explainer.save)
            row.status, row.review = Explainer.Status.DRAFT, ""
            row.pending = row.pending_by = row.pending_at = None
            record_saved(record=row, user=user)
            row.save()
            revision_record(record=row, user=user, comment="Recovered as a draft.")
    except (IntegrityError, ObjectDoesNotExist, DeserializationError) as error:
        raise ValidationError(
            f"“{version.object_repr}” cannot be recovered as it was: {error}"
        ) from error
    return row
