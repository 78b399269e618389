from django.apps import apps
from django.core import serializers
from django.core.management.base import BaseCommand

from explainers.management.commands.import_listings import StderrProgress
from explainers.models import Category, Explainer, HeroImage, Series, SeriesItem

CONTENT_MODELS = [Category, HeroImage, Series, Explainer, SeriesItem]
CHUNK_SIZE = 2000
# How often (in records) the progress is told: a bar redrawn per record costs more than the
# record.
PROGRESS_EVERY = 500


class Command(BaseCommand):
    help = (
        "Write the site's content (categories, hero images, series, explainers) as a fixture with "
        "natural keys, so `loaddata` can load it into an empty or a populated database. "
        "`make fixtures` runs it on a throwaway database filled by import_listings. The same "
        "file as `dumpdata --natural-foreign --natural-primary --indent 2` of those models, in "
        "a few queries per model however many records (dumpdata asks one per natural key of "
        "every record); progress on stderr. For backups, use pg_dump (see the README)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", default="fixtures/explainers.json", help="Where to write the fixture."
        )

    def handle(self, *args, output, verbosity, **options):
        counts = {model: model.objects.count() for model in CONTENT_MODELS}
        with (
            StderrProgress(self.stderr, quiet=verbosity == 0) as progress,
            open(output, "w", encoding="utf-8") as stream,
        ):
            serializers.serialize(
                "json",
                content_objects(counts, progress),
                indent=2,
                use_natural_foreign_keys=True,
                use_natural_primary_keys=True,
                stream=stream,
            )
        summary = ", ".join(
            f"{counts[model]} {model._meta.verbose_name_plural}" for model in CONTENT_MODELS
        )
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}: {summary}"))


def content_querysets():
    """Each content model's records in dumpdata's order (models by their natural keys'
    dependencies, records by primary key), with what their natural foreign keys name joined
    in (``select_related``) and their many-to-many relations prefetched a chunk at a time:
    the serializer then asks the database nothing per record."""
    app_list = [(apps.get_app_config("explainers"), CONTENT_MODELS)]
    for model in serializers.sort_dependencies(app_list, allow_cycles=True):
        meta = model._meta
        related = [f.name for f in meta.concrete_fields if f.is_relation]
        many = [
            f.name for f in meta.local_many_to_many if f.remote_field.through._meta.auto_created
        ]
        queryset = model._default_manager.order_by(meta.pk.name)
        yield model, queryset.select_related(*related).prefetch_related(*many)


def content_objects(counts: dict, progress: StderrProgress):
    for model, queryset in content_querysets():
        total, name = counts[model], model._meta.verbose_name_plural
        done = 0
        for done, record in enumerate(queryset.iterator(chunk_size=CHUNK_SIZE), start=1):
            yield record
            if done % PROGRESS_EVERY == 0:
                progress.advance(f"Exporting {name}", name, done, total, "", verb="Exported")
        progress.advance(f"Exporting {name}", name, done, max(total, done), "", verb="Exported")
