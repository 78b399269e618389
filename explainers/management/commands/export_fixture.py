from django.core.management import call_command
from django.core.management.base import BaseCommand

from explainers.models import Category, Explainer, HeroImage, Series, SeriesItem

CONTENT_MODELS = [Category, HeroImage, Series, Explainer, SeriesItem]


class Command(BaseCommand):
    help = (
        "Write the site's content (categories, hero images, series, explainers) as a fixture with "
        "natural keys, so `loaddata` can load it into an empty or a populated database. "
        "`make fixtures` runs it on a throwaway database filled by import_listings."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", default="fixtures/explainers.json", help="Where to write the fixture."
        )

    def handle(self, *args, output, verbosity, **options):
        call_command(
            "dumpdata",
            *[model._meta.label for model in CONTENT_MODELS],
            natural_foreign=True,
            natural_primary=True,
            indent=2,
            output=output,
            verbosity=0,
        )
        counts = ", ".join(
            f"{model.objects.count()} {model._meta.verbose_name_plural}" for model in CONTENT_MODELS
        )
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}: {counts}"))
