from django.core.management.base import BaseCommand, CommandError

from explainers.services.renditions import renditions_failed, renditions_make, renditions_to_make
from explainers.tasks import make_renditions


class Command(BaseCommand):
    help = (
        "Draw the renditions of every hero image (widths, card crops, link previews) as the "
        "background worker does when an image is saved: for images saved before it ran, "
        "after an upgrade, or after restoring media. Files already in storage are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--missing",
            action="store_true",
            help="Only images whose renditions are not made yet (for their file and focal point).",
        )
        parser.add_argument(
            "--redraw", action="store_true", help="Draw files again even if they are in storage."
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Queue them for the worker (`manage.py db_worker`) instead of drawing them here.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say how many images need drawing; draw none."
        )

    def handle(self, *args, missing, redraw, enqueue, dry_run, verbosity, **options):
        pairs = renditions_to_make(missing_only=missing)
        images = f"{len(pairs)} image{'' if len(pairs) == 1 else 's'}"
        if dry_run:
            self.stdout.write(f"Would make the renditions of {images}.")
            return
        if enqueue:
            for original, key in pairs:
                make_renditions.enqueue(original=original, key=key)
            self.stdout.write(self.style.SUCCESS(f"Queued the renditions of {images}."))
            return
        drawn, failures = 0, []
        with Progress(self.stdout, len(pairs), verbosity=verbosity) as progress:
            for original, key in pairs:
                try:
                    drawn += len(renditions_make(original=original, key=key, redraw=redraw))
                except Exception as error:
                    reason = f"{type(error).__name__}: {error}"[:300]
                    failures.append(f"{original}: {reason}")
                    renditions_failed(
                        original=original,
                        key=key,
                        problem=f"Renditions failed (make_renditions): {reason}.",
                    )
                progress.advance(original)
        if failures:
            raise CommandError(
                f"The renditions of {len(failures)} of {images} failed:\n" + "\n".join(failures)
            )
        self.stdout.write(self.style.SUCCESS(f"Renditions of {images} ready: {drawn} files drawn."))


class Progress:
    """A progress bar on a terminal (rich); in a log, a line per image at verbosity 2, else
    nothing until the summary."""

    def __init__(self, stdout, total: int, *, verbosity: int):
        self.stdout, self.total, self.verbosity = stdout, total, verbosity
        self.done = 0
        self.bar = None
        if verbosity >= 1 and total and stdout.isatty():
            from rich.console import Console
            from rich.progress import Progress as RichProgress

            self.bar = RichProgress(console=Console(file=stdout), transient=False)

    def __enter__(self):
        if self.bar is not None:
            self.bar.start()
            self.task = self.bar.add_task("Renditions", total=self.total)
        return self

    def advance(self, original: str) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=original.rsplit("/", 1)[-1])
        elif self.verbosity >= 2:
            self.stdout.write(f"{self.done}/{self.total} {original}")

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.bar.stop()
