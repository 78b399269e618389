"""Loading a content fixture (what ``export_fixture`` writes) in bulk.

``loaddata`` saves the records one at a time, looks up every natural key with a query of its
own and sends every save's signals (search indexing, counts, the cache): 100,000 explainers
take more than 20 minutes. ``fixture_load`` reads the file as a stream, a model's records a
batch at a time, finds what each batch's natural keys name in one query per kind, writes it
with ``bulk_create`` / ``bulk_update``, and then does once for everything loaded what the
signals would have done for each record. Records already in the database (the same natural
key) are updated, as ``loaddata`` updates them. All in one transaction: a file that names
something missing, or is not a fixture, writes nothing.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from ..cache import content_changed
from ..drawing import draw_missing_placeholder
from ..models import Category, Explainer, HeroImage, Series, SeriesItem
from .cards import cards_refresh
from .counts import live_counts_refresh_all
from .ordering import listings_renumber
from .search_index import search_index_refresh

BATCH_SIZE = 2000
# Rows per bulk_update statement: one CASE branch a row, which PostgreSQL tries in turn for
# each row, so a statement costs the square of its rows (2,000 took about a second).
UPDATE_BATCH_SIZE = 100
READ_SIZE = 1 << 16
# What names a record of each model in a fixture (its natural key), as a column.
NATURAL_KEYS = {
    Category: "path",
    HeroImage: "key",
    Series: "name",
    Explainer: "slug",
    get_user_model(): get_user_model().USERNAME_FIELD,
}
CONTENT_MODELS = [Category, HeroImage, Series, Explainer, SeriesItem]


class FixtureError(Exception):
    """A fixture that cannot be loaded, saying where (the record's number in the file)."""


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        names = dict.fromkeys([*self.created, *self.updated])
        return ", ".join(
            f"{name}: {self.created.get(name, 0)} new, {self.updated.get(name, 0)} updated"
            for name in names
        )


def fixture_records(stream) -> Iterator[dict]:
    """The records of a JSON fixture (a list of objects), read a piece at a time."""
    decoder, buffer, position, started = json.JSONDecoder(), "", 0, False
    number = 0
    while True:
        chunk = stream.read(READ_SIZE)
        buffer = buffer[position:] + chunk
        position = 0
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n,":
                position += 1
            if position == len(buffer):
                break
            if not started:
                if buffer[position] != "[":
                    raise FixtureError("the file is not a JSON list of records")
                started, position = True, position + 1
                continue
            if buffer[position] == "]":
                return
            try:
                record, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError as error:
                if chunk:  # perhaps cut off by the piece read: read more
                    break
                raise FixtureError(f"record {number + 1}: not JSON ({error.msg})") from None
            number += 1
            if not isinstance(record, dict) or "model" not in record or "fields" not in record:
                raise FixtureError(f"record {number}: not a fixture record (model and fields)")
            yield record
            position = end
        if not chunk:
            if not started:
                raise FixtureError("the file is empty")
            raise FixtureError("the file ends before its list does")


def fixture_load(stream, *, progress, totals: dict) -> LoadReport:
    """Load the records ``stream`` holds (``totals``: records per model label). ``progress``
    is told ``loaded(what, done, total)`` as batches are written and ``step(what)`` as the
    work after them begins."""
    report, loader = LoadReport(), _Loader()
    try:
        with transaction.atomic():
            number = 0
            for label, batch in _batches_by_model(fixture_records(stream)):
                model = _content_model(label, number + 1)
                created, updated = loader.write(model, batch, first_number=number + 1)
                number += len(batch)
                name = model._meta.verbose_name_plural
                report.created[name] = report.created.get(name, 0) + created
                report.updated[name] = report.updated.get(name, 0) + updated
                loader.done[label] = loader.done.get(label, 0) + len(batch)
                progress.loaded(name, loader.done[label], totals[label])
            loader.finish(progress)
    except DatabaseError as error:
        problem = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise FixtureError(f"the database refused the fixture: {problem}") from error
    return report


def fixture_totals(stream) -> dict[str, int]:
    """Records per model label: a first reading of the file, which also finds a malformed
    one before anything is written."""
    totals: dict[str, int] = {}
    for record in fixture_records(stream):
        totals[record["model"]] = totals.get(record["model"], 0) + 1
    return totals


def _batches_by_model(records: Iterable[dict]) -> Iterator[tuple[str, list[dict]]]:
    batch, label = [], None
    for record in records:
        if batch and (record["model"] != label or len(batch) == BATCH_SIZE):
            yield label, batch
            batch = []
        label = record["model"]
        batch.append(record)
    if batch:
        yield label, batch


def _content_model(label: str, number: int):
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        raise FixtureError(f"record {number}: no model “{label}”") from None
    if model not in CONTENT_MODELS:
        raise FixtureError(f"record {number}: “{label}” is not content this command loads")
    return model


def _natural_key(model, value):
    """The natural key a fixture gives (a list of one value) as the column holds it."""
    key = value[0] if isinstance(value, list) and len(value) == 1 else value
    return model._meta.get_field(NATURAL_KEYS[model]).to_python(key)


class _Loader:
    """What the batches written so far left to do, and natural keys already looked up."""

    def __init__(self):
        self.ids: dict[type, dict] = {model: {} for model in NATURAL_KEYS}
        self.explainer_ids: list[int] = []
        self.placeholders: set[str] = set()
        self.category_parents: set[int | None] = set()
        self.explainer_categories: set[int] = set()
        self.done: dict[str, int] = {}

    def write(self, model, batch: list[dict], *, first_number: int) -> tuple[int, int]:
        if model is Category:
            # A parent before its children, whatever the file's order: a level at a time.
            levels: dict[int, list] = {}
            for number, record in enumerate(batch, start=first_number):
                depth = str(record["fields"].get("path", "")).count("/")
                levels.setdefault(depth, []).append((number, record))
            written = [self._write(model, levels[depth]) for depth in sorted(levels)]
            return sum(new for new, _ in written), sum(old for _, old in written)
        return self._write(model, list(enumerate(batch, start=first_number)))

    def _write(self, model, numbered: list[tuple[int, dict]]) -> tuple[int, int]:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self._look_up(model, fields, numbered)
        instances = [self._instance(model, fields, number, record) for number, record in numbered]
        existing = self._existing(model, instances)
        for instance in instances:
            if instance.pk is None and (key := existing.get(self._key_of(model, instance))):
                instance.pk = key
        new = [instance for instance in instances if instance.pk is None]
        old = [instance for instance in instances if instance.pk is not None]
        # bulk_create() stamps auto_now(_add) fields with the time of the load; the file's
        # times are put back, as loaddata keeps them (bulk_update stamps nothing).
        stamped = [
            f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        times = [[getattr(instance, f.attname) for f in stamped] for instance in new]
        model.objects.bulk_create(new, batch_size=BATCH_SIZE)
        if stamped and new:
            for instance, values in zip(new, times, strict=True):
                for stamp, value in zip(stamped, values, strict=True):
                    if value is not None:
                        setattr(instance, stamp.attname, value)
            model.objects.bulk_update(new, [f.name for f in stamped], batch_size=UPDATE_BATCH_SIZE)
        if old:
            model.objects.bulk_update(old, [f.name for f in fields], batch_size=UPDATE_BATCH_SIZE)
        if model in NATURAL_KEYS:
            column = NATURAL_KEYS[model]
            self.ids[model].update((getattr(i, column), i.pk) for i in instances)
        self._write_many_to_many(model, numbered, instances, old)
        self._note(model, instances)
        return len(new), len(old)

    def _write_many_to_many(self, model, numbered, instances, old) -> None:
        """Many-to-many relations Django keeps in a table of its own (an explainer's body
        images), as the file lists them: replaced, for the records already there."""
        for relation in model._meta.local_many_to_many:
            through = relation.remote_field.through
            if not through._meta.auto_created:
                continue  # series: their items are records of the file
            target = relation.related_model
            named = [record["fields"].get(relation.name) or [] for _, record in numbered]
            wanted = {_natural_key(target, key) for keys in named for key in keys}
            self._look_up_keys(target, wanted)
            source = relation.m2m_field_name()
            through.objects.filter(**{f"{source}__in": old}).delete()
            rows = []
            for (number, record), instance, keys in zip(numbered, instances, named, strict=True):
                for key in keys:
                    target_id = self._id_of(target, key, number, record, relation.name)
                    rows.append(
                        through(
                            **{
                                f"{source}_id": instance.pk,
                                f"{relation.m2m_reverse_field_name()}_id": target_id,
                            }
                        )
                    )
            through.objects.bulk_create(rows, batch_size=BATCH_SIZE)

    def _look_up(self, model, fields, numbered) -> None:
        """The ids of what this batch's natural foreign keys name, one query per kind."""
        for relation in (f for f in fields if f.is_relation):
            target = relation.related_model
            self._look_up_keys(
                target,
                {
                    _natural_key(target, record["fields"][relation.name])
                    for _, record in numbered
                    if record["fields"].get(relation.name)
                },
            )

    def _look_up_keys(self, target, keys) -> None:
        wanted = set(keys) - self.ids[target].keys()
        if wanted:
            column = NATURAL_KEYS[target]
            found = target._default_manager.filter(**{f"{column}__in": wanted})
            self.ids[target].update(found.values_list(column, "pk"))

    def _id_of(self, target, value, number: int, record: dict, name: str) -> int:
        key = _natural_key(target, value)
        target_id = self.ids[target].get(key)
        if target_id is None:
            model = apps.get_model(record["model"])
            what = f"{record['model']} {self._label(model, record['fields'])}"
            raise FixtureError(
                f"record {number} ({what}): {name} “{key}” is neither in the file before it "
                "nor in the database"
            )
        return target_id

    def _instance(self, model, fields, number: int, record: dict):
        """The record as a model instance, built as the database would give it (an image's
        file is not opened to measure it: the file may not be there yet)."""
        values, stored = record["fields"], {}
        for field_ in fields:
            if field_.name not in values:
                continue
            value = values[field_.name]
            if field_.is_relation:
                stored[field_.attname] = (
                    None
                    if value is None
                    else self._id_of(field_.related_model, value, number, record, field_.name)
                )
                continue
            try:
                stored[field_.attname] = field_.to_python(value)
            except ValidationError as error:
                problem = " ".join(error.messages)
                raise FixtureError(
                    f"record {number} ({record['model']}): {field_.name}: {problem}"
                ) from None
        return model(**stored)

    def _label(self, model, values) -> str:
        if model is SeriesItem:
            return f"{values.get('content_object')} in {values.get('tag')}"
        return f"“{values.get(NATURAL_KEYS[model])}”"

    def _key_of(self, model, instance):
        if model is SeriesItem:
            return (instance.content_object_id, instance.tag_id)
        return getattr(instance, NATURAL_KEYS[model])

    def _existing(self, model, instances) -> dict:
        """Natural key → id of the records of ``instances`` already stored."""
        if model is SeriesItem:
            rows = SeriesItem.objects.filter(
                content_object_id__in={i.content_object_id for i in instances}
            ).values_list("content_object_id", "tag_id", "pk")
            return {(explainer, tag): pk for explainer, tag, pk in rows}
        column = NATURAL_KEYS[model]
        keys = {getattr(instance, column) for instance in instances}
        rows = model.objects.filter(**{f"{column}__in": keys}).values_list(column, "pk")
        return dict(rows)

    def _note(self, model, instances) -> None:
        if model is Explainer:
            self.explainer_ids += [instance.pk for instance in instances]
            self.explainer_categories |= {instance.category_id for instance in instances}
        elif model is Category:
            self.category_parents |= {instance.parent_id for instance in instances}
        elif model is HeroImage:
            self.placeholders |= {i.image.name for i in instances if i.is_placeholder}

    def finish(self, progress) -> None:
        """What each record's signals would have done, once for all of them."""
        progress.step("Ordering the listings")
        if self.category_parents:
            listings_renumber(model=Category, group_ids=self.category_parents)
        if self.explainer_categories:
            listings_renumber(model=Explainer, group_ids=self.explainer_categories)
        for start in range(0, len(self.explainer_ids), BATCH_SIZE):
            batch = self.explainer_ids[start : start + BATCH_SIZE]
            Explainer.objects.filter(pk__in=batch).refresh_lead_series()
        progress.step("Indexing for search")
        search_index_refresh(explainer_ids=self.explainer_ids)
        progress.step("Storing the cards")
        cards_refresh(Explainer.objects.filter(pk__in=self.explainer_ids))
        progress.step("Counting explainers in categories and series")
        live_counts_refresh_all()
        progress.step("Drawing missing placeholder files")
        for name in sorted(self.placeholders):
            draw_missing_placeholder(name)
        content_changed()
