import itertools
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import reset_queries

from explainers.listings import ListingError
from explainers.services.imports import ImportProgress, ListingFiles, listings_import


class Command(BaseCommand):
    help = (
        "Import scraped category listings (card or breadcrumb format, detected from the content). "
        "Folders are read in name order (their *.txt files); a category's pages follow that order. "
        "All or nothing: on any error the database is left as it was. Progress goes to stderr "
        "(a bar on a terminal, a line now and then otherwise; none with --verbosity 0)."
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
        files = listing_files(paths)
        progress = StderrProgress(self.stderr, dry_run=dry_run, quiet=verbosity == 0)
        try:
            with progress:
                report = listings_import(
                    listings=ListingFiles(files),
                    parent=parent,
                    dry_run=dry_run,
                    titles=dry_run or verbosity >= 2,
                    progress=progress,
                )
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


def progress_step(total: int, lines: int = 20) -> int:
    """How often a plain progress line is worth printing: a round 1, 2 or 5 × 10ⁿ giving
    at most about ``lines`` lines for ``total``."""
    step = 1
    for factor in itertools.cycle((2, 2.5, 2)):  # 1, 2, 5, 10, 20, 50, …
        if step * lines >= total:
            return step
        step = round(step * factor)


def forget_queries() -> None:
    """With DEBUG on, Django keeps the SQL of the last 9,000 queries, and a bulk insert's is
    half a megabyte: hundreds of MB over a big run, which nobody reads. Dropped as it goes."""
    if settings.DEBUG:
        reset_queries()


class StderrProgress(ImportProgress):
    """Progress of a command, on its stderr: a rich bar on a terminal; else a line every
    ``progress_step`` items and at the end, for logs. The stdout report is left alone."""

    def __init__(self, stderr, *, dry_run: bool = False, quiet: bool = False):
        self.stderr, self.quiet = stderr, quiet
        self.verb = "Checked" if dry_run else "Imported"
        self.bar = None
        self.tasks: dict[str, int] = {}
        self.printed: dict[str, int] = {}
        self.started = time.monotonic()

    def __enter__(self):
        if not self.quiet and self.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            # The wrapped stream: Django's OutputWrapper would end every write with a newline.
            console = Console(file=getattr(self.stderr, "_out", self.stderr))
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=30),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[last]}", style="dim"),
                console=console,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.bar.start()
        return self

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def parsed(self, done: int, total: int, source: str) -> None:
        self.advance(
            "Parsing files", "files", done, total, source, verb="Parsed", short=Path(source).name
        )

    def written(self, done: int, total: int, category: str) -> None:
        self.advance("Importing cards", "cards", done, total, category, verb=self.verb)
        forget_queries()

    def recorded(self, done: int, total: int) -> None:
        self.advance("Recording revisions", "revisions", done, total, "", verb="Recorded")
        forget_queries()

    def step(self, what: str) -> None:
        if self.bar is not None:
            self.bar.console.print(f"{what} …")
        elif not self.quiet:
            self.stderr.write(f"{what} … ({self.elapsed()})")

    def advance(self, description, unit, done, total, last, *, verb, short=None) -> None:
        """``done`` of ``total`` ``unit`` done, the last in ``last`` (``short`` on the bar)."""
        if self.quiet:
            return
        if self.bar is not None:
            if description not in self.tasks:
                self.tasks[description] = self.bar.add_task(description, total=total, last="")
            shown = last if short is None else short
            self.bar.update(self.tasks[description], completed=done, last=shown)
            return
        # Plain lines: when a multiple of the step is passed (a category's cards come at once).
        step = progress_step(total)
        if done == total or done // step > self.printed.get(unit, 0) // step:
            self.printed[unit] = done
            where = f" ({last})" if last else ""
            self.stderr.write(f"{verb} {done:,}/{total:,} {unit}{where}, {self.elapsed()}")

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.1f} s"
