from django.core.management.base import BaseCommand, CommandError

from explainers.management.commands.import_listings import StderrProgress
from explainers.services.fixtures import FixtureError, fixture_load, fixture_totals


class LoadProgress(StderrProgress):
    def loaded(self, what: str, done: int, total: int) -> None:
        self.advance(f"Loading {what}", what, done, total, "", verb="Loaded")


class Command(BaseCommand):
    help = (
        "Load a content fixture written by export_fixture (categories, hero images, series, "
        "explainers) in bulk: what loaddata does record by record, in a few queries a batch "
        "of 2,000, in one transaction (a broken file writes nothing); records already there "
        "(the same natural key) are updated. Progress on stderr. For backups, use pg_dump "
        "(see the README)."
    )

    def add_arguments(self, parser):
        parser.add_argument("fixture", help="The JSON file export_fixture wrote.")

    def handle(self, *args, fixture, verbosity, **options):
        try:
            stream = open(fixture, encoding="utf-8")  # noqa: SIM115 (read twice, closed below)
        except OSError as error:
            raise CommandError(f"{fixture}: {error.strerror}") from None
        try:
            with stream:
                totals = fixture_totals(stream)
                stream.seek(0)
                with LoadProgress(self.stderr, quiet=verbosity == 0) as progress:
                    report = fixture_load(stream, progress=progress, totals=totals)
        except (FixtureError, UnicodeDecodeError) as error:
            raise CommandError(f"{fixture}: {error}") from None
        self.stdout.write(self.style.SUCCESS(f"Loaded {fixture}: {report.summary()}"))
