from axes.utils import reset
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Unlock USERNAME after too many failed sign-ins: clears that username's failed "
        "attempts (django-axes) from every address. An address locked for guessing many "
        "usernames stays locked: `manage.py axes_reset_ip ADDRESS` clears that."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if not User._default_manager.filter(**{User.USERNAME_FIELD: username}).exists():
            raise CommandError(f'No user is called "{username}".')
        cleared = reset(username=username)
        self.stdout.write(
            self.style.SUCCESS(
                f"Unlocked {username}: cleared {cleared} failed sign-in record"
                f"{'' if cleared == 1 else 's'}."
            )
        )
