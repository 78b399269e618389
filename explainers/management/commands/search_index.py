from django.core.management.base import BaseCommand

from explainers.models import Explainer, SearchTerm
from explainers.services.search_index import search_index_rebuild


class Command(BaseCommand):
    help = (
        "Build site search's index and vocabulary afresh from every explainer (saves, imports "
        "and fixtures keep them in step; this is for a database restored or written around "
        "the code, e.g. with raw SQL). One transaction: searches see the old index until it "
        "commits. Progress goes to stderr (none with --verbosity 0)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Say how many explainers would be indexed."
        )

    def handle(self, *args, dry_run, verbosity, **options):
        if dry_run:
            self.stdout.write(f"Would index {Explainer.objects.count()} explainers.")
            return

        def progress(done, total):
            if verbosity:
                self.stderr.write(f"Indexed {done} of {total} explainers")

        count = search_index_rebuild(progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Indexed {count} explainers; the vocabulary has {SearchTerm.objects.count()} "
                "words of the published ones."
            )
        )
