from django.core.management.base import BaseCommand
from django.db import transaction

from explainers.cache import content_changed
from explainers.services.counts import live_counts_refresh_all


class Command(BaseCommand):
    help = (
        "Count again what categories and series keep of their explainers (live counts, last "
        "changes, next scheduled publications, subcategories), which pages and the API read: "
        "after a write to the database that went around the application."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            live_counts_refresh_all()
            # Cached pages show the figures as they were.
            content_changed()
        self.stdout.write("Counted every category and series again.")
