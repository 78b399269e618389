from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from explainers.models import Category, Explainer
from explainers.services.editing import revisions_record_baseline


class Command(BaseCommand):
    help = (
        "Load the `explainers` fixture (the scraped listings) when the database has no content "
        "yet; leave a database that has content alone."
    )

    def handle(self, *args, verbosity, **options):
        if Category.objects.exists() or Explainer.objects.exists():
            self.stdout.write("The database already has content; nothing loaded.")
            return
        with transaction.atomic():
            call_command("loaddata", "explainers", verbosity=verbosity)
            revisions_record_baseline(
                records=Explainer.objects.all(), comment="Loaded from the fixture."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {Explainer.objects.count()} explainers in "
                f"{Category.objects.count()} categories."
            )
        )
