from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from explainers.listings import ListingError, parse_listing
from explainers.services.imports import listings_import


class Command(BaseCommand):
    help = (
        "Import scraped category listings (card or breadcrumb format, detected from the content). "
        "Folders are read in name order (their *.txt files); a category's pages follow that order. "
        "All or nothing: on any error the database is left as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Listing files or folders.")
        parser.add_argument(
            "--parent",
            metavar="NAME",
            help="Category to put new categories under when their listing has no breadcrumbs.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would change and write nothing."
        )

    def handle(self, *args, paths, parent, dry_run, verbosity, **options):
        try:
            listings = [
                parse_listing(path.read_bytes(), str(path)) for path in listing_files(paths)
            ]
            report = listings_import(listings=listings, parent=parent, dry_run=dry_run)
        except (ListingError, OSError) as error:
            raise CommandError(str(error)) from error

        would = "would be " if dry_run else ""
        for path in report.categories_created:
            self.stdout.write(f"Category {would}created: {path}")
        for path in report.categories_updated:
            self.stdout.write(f"Category description {would}updated: {path}")
        if dry_run or verbosity >= 2:
            for title in report.created:
                self.stdout.write(f"Explainer {would}created: {title}")
            for title, changes in report.updated:
                self.stdout.write(f"Explainer {would}updated ({', '.join(changes)}): {title}")
        prefix = "Dry run, nothing written: " if dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{prefix}{report.summary()}"))


def listing_files(paths: list[str]) -> list[Path]:
    files = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.txt") if p.is_file())
            if not found:
                raise CommandError(f"{path}: no listing files (*.txt) in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise CommandError(f"{path}: no such file or folder")
    return files
