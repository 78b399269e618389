from django.core.management import call_command
from django.core.management.base import BaseCommand

from explainers.models import Category, Explainer


class Command(BaseCommand):
    help = (
        "Load the `explainers` fixture (the scraped listings) when the database has no content "
        "yet; leave a database that has content alone."
    )

    def handle(self, *args, verbosity, **options):
        if Category.objects.exists() or Explainer.objects.exists():
            self.stdout.write("The database already has content; nothing loaded.")
            return
        call_command("loaddata", "explainers", verbosity=verbosity)
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {Explainer.objects.count()} explainers in "
                f"{Category.objects.count()} categories."
            )
        )
