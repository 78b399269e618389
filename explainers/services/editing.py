"""Saves from forms that may be stale, autosaved scratch copies, and who has a form open.

A change form carries a signed *edit token*: the version it was loaded from and a digest of
each field's value then. When it comes back, each field is compared three ways: as loaded
(the token), as the user sent it, and as it is now in the database (read under a lock). Fields
only the user changed are saved; fields only others changed keep the others' values (a
merge); fields both changed differently are a conflict, and nothing is saved.
"""

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import reversion
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.cache import cache
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import get_text_list

from ..models import ScratchCopy

TOKEN_SALT = "explainers.edit-token"
PRESENCE_KEY = "explainers:presence:{}:{}"


class StaleToken(ValueError):
    """The form's edit token is missing, forged or unreadable."""


def canonical(value):
    """A JSON-able value that is equal for equal field values, however they were read."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, UploadedFile):
        return f"upload:{value.name}:{value.size}"
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, File):  # a prepared upload
        return f"upload:{value.name}:{value.size}"
    if isinstance(value, datetime):
        # Forms show whole seconds; the database keeps microseconds.
        return value.astimezone(UTC).replace(microsecond=0).isoformat()
    if isinstance(value, str):
        # Browsers send textareas with CRLF; forms strip what they read.
        return value.replace("\r\n", "\n").strip()
    if isinstance(value, (list, tuple, set, models.QuerySet)):
        return sorted(str(canonical(item)).casefold() for item in value)
    if value is False or value == "":
        return None
    return value


def digest(value) -> str:
    encoded = json.dumps(canonical(value), cls=DjangoJSONEncoder, sort_keys=True)
    return hashlib.sha256(encoded.encode()).hexdigest()[:24]


def edit_token(*, version: int, values: dict) -> str:
    """The signed token a form carries: the version and field digests it was loaded from."""
    fields = {name: digest(value) for name, value in values.items()}
    return signing.dumps({"version": version, "fields": fields}, salt=TOKEN_SALT, compress=True)


def read_edit_token(token: str) -> dict:
    try:
        return signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature as error:
        raise StaleToken("This form's version stamp is missing or damaged.") from error


@dataclass
class Comparison:
    """How a form's input relates to the record as loaded and as it is now."""

    changed_by_user: set[str] = field(default_factory=set)
    changed_since: set[str] = field(default_factory=set)
    conflicts: list[str] = field(default_factory=list)

    @property
    def merged(self) -> list[str]:
        """Fields others changed and the user did not: they keep the others' values."""
        return sorted(self.changed_since - self.changed_by_user)


def compare_edit(*, token: dict, submitted: dict, current: dict) -> Comparison:
    """Compare the user's values and the current ones with the token's (by field name)."""
    loaded = token["fields"]
    comparison = Comparison()
    for name, value in submitted.items():
        mine, now, then = digest(value), digest(current[name]), loaded.get(name)
        if then is None:
            continue  # a field the form did not have when it was loaded
        if mine != then:
            comparison.changed_by_user.add(name)
        if now != then:
            comparison.changed_since.add(name)
            if mine != then and mine != now:
                comparison.conflicts.append(name)
    return comparison


def saved_by_line(record, fields: list[str]) -> str:
    """ "Merged with Dana's save of 10:42: they changed the title." """
    who = _person(record.changed_by)
    when = date_format(timezone.localtime(_saved_at(record)), "H:i")
    return f"Merged with {who}'s save of {when}: they changed the {get_text_list(fields, 'and')}."


def saved_by(record) -> str:
    """ "Dana at 10:42": who made the record's newest save, and when."""
    when = date_format(timezone.localtime(_saved_at(record)), "H:i")
    return f"{_person(record.changed_by)} at {when}"


def _saved_at(record):
    return (
        getattr(record, "pending_at", None)
        or getattr(record, "updated_at", None)
        or (timezone.now())
    )


def _person(user) -> str:
    if user is None:
        return "someone"
    return user.get_full_name() or user.get_username()


def revision_record(*, record: models.Model, user, comment: str) -> None:
    """One revision of ``record`` as it is in the database now, with who and why."""
    with reversion.create_revision():
        reversion.set_user(user)
        reversion.set_comment(comment)
        reversion.add_to_revision(record)


def revisions_record_baseline(*, records, comment: str) -> int:
    """A first revision of each record, by nobody, so the first edit can be compared and
    undone. Returns how many were recorded."""
    count = 0
    with reversion.create_revision():
        reversion.set_comment(comment)
        for record in records:
            reversion.add_to_revision(record)
            count += 1
    return count


def record_saved(*, record: models.Model, user) -> None:
    """Count the version up and name who saved; the caller saves the record."""
    record.version = (record.version or 0) + 1
    record.changed_by = user if user is not None and user.is_authenticated else None


# Scratch copies


def _form_key(model: type[models.Model], object_id) -> dict:
    return {
        "content_type": ContentType.objects.get_for_model(model),
        "object_id": "" if object_id is None else str(object_id),
    }


def scratch_copy_save(*, user, model: type[models.Model], object_id, data: dict) -> ScratchCopy:
    """Keep a form's unsaved input for ``user``; copies older than the limit go."""
    now = timezone.now()
    ScratchCopy.objects.filter(
        saved_at__lt=now - timedelta(days=settings.SCRATCH_COPY_DAYS)
    ).delete()
    copy, _created = ScratchCopy.objects.update_or_create(
        user=user, **_form_key(model, object_id), defaults={"data": data, "saved_at": now}
    )
    return copy


def scratch_copy_for(*, user, model: type[models.Model], object_id) -> ScratchCopy | None:
    oldest = timezone.now() - timedelta(days=settings.SCRATCH_COPY_DAYS)
    return ScratchCopy.objects.filter(
        user=user, saved_at__gte=oldest, **_form_key(model, object_id)
    ).first()


def scratch_copy_discard(*, user, model: type[models.Model], object_id) -> None:
    ScratchCopy.objects.filter(user=user, **_form_key(model, object_id)).delete()


# Presence: who has a form open, kept in the shared cache so every web machine sees it.


def presence_touch(*, model: type[models.Model], object_id, user) -> list[dict]:
    """Note that ``user`` has the form open; return the others who have it open."""
    key = PRESENCE_KEY.format(model._meta.label_lower, object_id)
    now = time.time()
    present = _present(cache.get(key) or {}, now)
    entry = present.get(str(user.pk)) or {"name": _person(user), "since": now}
    entry["seen"] = now
    present[str(user.pk)] = entry
    cache.set(key, present, settings.PRESENCE_TIMEOUT_SECONDS * 2)
    return [
        {"name": other["name"], "since": _clock(other["since"])}
        for user_id, other in sorted(present.items(), key=lambda item: item[1]["since"])
        if user_id != str(user.pk)
    ]


def presence_leave(*, model: type[models.Model], object_id, user) -> None:
    key = PRESENCE_KEY.format(model._meta.label_lower, object_id)
    present = _present(cache.get(key) or {}, time.time())
    if present.pop(str(user.pk), None) is not None:
        cache.set(key, present, settings.PRESENCE_TIMEOUT_SECONDS * 2)


def _present(entries: dict, now: float) -> dict:
    limit = now - settings.PRESENCE_TIMEOUT_SECONDS
    return {user_id: entry for user_id, entry in entries.items() if entry["seen"] >= limit}


def _clock(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return date_format(timezone.localtime(moment), "H:i")
