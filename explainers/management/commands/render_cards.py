from django.core.management.base import BaseCommand

from explainers.services.cards import cards_render_outdated


class Command(BaseCommand):
    help = (
        "Store every explainer card that is out of date or was rendered from other card "
        "templates (run after a deploy; until then listings render those cards afresh)."
    )

    def handle(self, *args, **options):
        rendered = cards_render_outdated()
        self.stdout.write(f"Stored {rendered} card{'' if rendered == 1 else 's'}.")
